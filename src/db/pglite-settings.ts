/**
 * Postgres settings of the embedded database (PGlite). Its defaults are a server's: 128 MB of
 * shared buffers, which the WebAssembly heap fills and never returns. The embedded default holds a
 * few thousand rows at most (docs/runtime.md, "Memory"); 16 MB keeps them cached.
 */
export const PGLITE_SETTINGS = ['shared_buffers = 16MB', 'temp_buffers = 4MB', 'work_mem = 2MB'];
