/**
 * Reading `timestamp with time zone` as the drivers hand it over: Postgres's own text
 * (`2026-03-29 03:30:00.123456+02`). JavaScript's Date parser reads that text loosely — year 0050
 * as 2050, an offset with seconds (`+00:53:28`, local mean time before 1900) not at all — so it is
 * parsed here, strictly. What is not a date JavaScript can use ('infinity', '-infinity', a BC date)
 * becomes an Invalid Date, which validation reports naming the column (src/model/limits.ts).
 */

const TIMESTAMPTZ =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/;

export function parseTimestamptz(text: string): Date {
  const m = TIMESTAMPTZ.exec(text.trim());
  if (!m || m[13]) return new Date(Number.NaN);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second, millis));
  date.setUTCFullYear(year, month - 1, day); // (Date.UTC reads years 0-99 as 1900-1999)
  const offsetSeconds =
    m[8] || !m[9]
      ? 0
      : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11] ?? 0) * 60 + Number(m[12] ?? 0));
  return new Date(date.getTime() - offsetSeconds * 1000);
}
