import { DataTypes, type ModelAttributeColumnOptions, type Model } from 'sequelize';

/**
 * A JSON value stored as TEXT (principle 5: SQL Server has no JSON column in Sequelize 6, and
 * SQLite accepts invalid JSON). The getter parses, the setter serialises; what must be queried
 * belongs in ordinary indexed columns.
 */
export function jsonText<T>(field: string, opts: { allowNull?: boolean; defaultValue?: T } = {}): ModelAttributeColumnOptions<Model> {
  return {
    type: DataTypes.TEXT,
    allowNull: opts.allowNull ?? true,
    ...(opts.defaultValue !== undefined ? { defaultValue: JSON.stringify(opts.defaultValue) } : {}),
    get(this: Model): T | null {
      const raw = this.getDataValue(field) as unknown;
      if (raw === null || raw === undefined) return null;
      if (typeof raw !== 'string') return raw as T; // already parsed (raw query on MariaDB)
      return JSON.parse(raw) as T;
    },
    set(this: Model, value: T | null) {
      this.setDataValue(field, value === null || value === undefined ? null : JSON.stringify(value));
    },
  };
}

/** Parse a JSON text column read through a raw query (string on SQLite, maybe object on MariaDB). */
export function parseJsonColumn<T>(raw: unknown): T | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string') return JSON.parse(raw) as T;
  return raw as T;
}
