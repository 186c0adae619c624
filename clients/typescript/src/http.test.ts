import { describe, expect, it } from 'vitest';
import { filenameFromContentDisposition, serializeParams, withIdempotencyKey } from './http';

describe('filenameFromContentDisposition', () => {
  it.each([
    ['attachment; filename="alumni-2026-11-26.csv"; filename*=UTF-8\'\'alumni-2026-11-26.csv', 'alumni-2026-11-26.csv'],
    ['attachment; filename="plain.csv"', 'plain.csv'],
    ['attachment; filename=bare.json', 'bare.json'],
    ['attachment; filename="fallback.csv"; filename*=UTF-8\'\'%C3%BCber%20uns.csv', 'über uns.csv'],
    ['attachment; filename="a \\"quoted\\" name.csv"', 'a "quoted" name.csv'],
    ['attachment; filename="../../etc/passwd"', 'passwd'],
    ['attachment; filename*=UTF-8\'\'%E0%A4%A', undefined],
    ['attachment', undefined],
    ['', undefined],
  ])('%s', (header, want) => {
    expect(filenameFromContentDisposition(header)).toBe(want);
  });
});

describe('serializeParams', () => {
  it('joins arrays with commas and leaves out empty values', () => {
    expect(serializeParams({ format: 'csv', columns: ['firstName', 'lastName'], q: undefined, tag: null, deleted: false })).toBe(
      'format=csv&columns=firstName%2ClastName&deleted=false',
    );
    expect(serializeParams({ updatedSince: new Date(Date.UTC(2026, 0, 2)) })).toBe('updatedSince=2026-01-02T00%3A00%3A00.000Z');
  });
});

describe('withIdempotencyKey', () => {
  it('adds the header and keeps the other options', () => {
    const options = withIdempotencyKey('k-1', { timeout: 5, headers: { 'X-Request-Id': 'r' } });
    expect(options).toEqual({ timeout: 5, headers: { 'X-Request-Id': 'r', 'Idempotency-Key': 'k-1' } });
    expect(withIdempotencyKey('k-2')).toEqual({ headers: { 'Idempotency-Key': 'k-2' } });
  });
});
