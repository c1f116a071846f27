/** Small zod building blocks that several settings schemas share. */
import { z } from 'zod';

export const positiveInt = z.number().int().positive();
export const positiveNumber = z.number().positive();

/** Whether the runtime knows an IANA timezone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    // Intl signals an unknown zone only by throwing a RangeError
    return false;
  }
}

/** The system's IANA timezone, the default of every timezone setting. */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** An IANA timezone name, the system's by default. */
export const timeZoneSchema = z
  .string()
  .refine(isValidTimeZone, { message: 'an IANA timezone such as "Asia/Shanghai" or "UTC"' })
  .default(systemTimeZone);
