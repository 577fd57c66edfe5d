/** The schedule model: stored fields and records, declaration and row validation. */

export * from './alert-message.ts';
export * from './deadline.ts';
export * from './declaration.ts';
export * from './describe.ts';
export * from './edit-cursor.ts';
export * from './headers.ts';
export * from './json.ts';
export * from './limits.ts';
export * from './schedule.ts';
export * from './validate.ts';
