/** The messages load-child.ts sends to load.ts over the IPC channel (advanced serialization). */
export type ChildMessage =
  | { type: 'loading'; file: string }
  | {
      type: 'loaded';
      file: string;
      /** Each declaration's own fields (the marker symbol does not cross; load.ts puts it back). */
      declarations: Record<string, unknown>[];
      /** Declarations that hold values which cannot be sent (functions, symbols). */
      unreadable: { name: string; reason: string }[];
      /** Each calendar declaration's own fields (defineCalendar). */
      calendars: Record<string, unknown>[];
    }
  | { type: 'failed'; file: string; reason: string }
  | { type: 'done' };
