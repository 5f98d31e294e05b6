import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';
import { jsonText } from '../json.ts';

// Custom forms (issue 5, R16.*): form definitions, versions, submissions, field index.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

/** Editable form definition; `draft` is the form document (server/src/forms/schema.ts). */
export class FormDef extends Model<InferAttributes<FormDef>, InferCreationAttributes<FormDef>> {
  declare id: CreationOptional<number>;
  declare key: string;
  declare name: string;
  declare draft: unknown;
  declare rev: CreationOptional<number>;
  declare latestVersion: number | null;
  /** Submitted on its own (not bound to a workflow): anyone signed in may fill it in. */
  declare standalone: CreationOptional<boolean>;
  declare createdBy: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/** Immutable published version (R16.5). */
export class FormVersion extends Model<InferAttributes<FormVersion>, InferCreationAttributes<FormVersion>> {
  declare id: CreationOptional<number>;
  declare formId: number;
  declare version: number;
  declare schema: unknown;
  declare publishedBy: number | null;
  declare publishedAt: Date;
}

export class FormSubmission extends Model<InferAttributes<FormSubmission>, InferCreationAttributes<FormSubmission>> {
  declare id: CreationOptional<number>;
  declare formId: number;
  declare versionId: number;
  declare serialNo: string | null;
  declare data: Record<string, unknown>;
  declare totals: Record<string, Record<string, number>> | null;
  declare submitterId: number;
  declare deptId: number | null;
  declare status: string;
  declare rev: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/** One row per scalar value of a submission (R3.14, R16.9); row -1 is a top-level field. */
export class FormFieldIndex extends Model<InferAttributes<FormFieldIndex>, InferCreationAttributes<FormFieldIndex>> {
  declare id: CreationOptional<number>;
  declare submissionId: number;
  declare formId: number;
  declare fieldKey: string;
  declare rowNo: number;
  declare valueText: string | null;
  /** DECIMAL: returned as a string by some drivers. */
  declare valueNum: string | number | null;
  declare valueDate: string | null;
  /** 'YYYY-MM' of valueDate (grouping by month, R3.14). */
  declare valueMonth: string | null;
  /** 'YYYY' of valueDate. */
  declare valueYear: string | null;
}

/** Slots of a form_summary_row (the same counts as migration 0008). */
export const SUMMARY_SLOTS = { t: 16, n: 16, d: 8 } as const;
export type SummarySlotKind = keyof typeof SUMMARY_SLOTS;

/**
 * A form's field → summary slot map (R3.18): assigned when a field first appears in a published
 * version, never reused; `slot` null or inactive = the field is summarised from form_field_index only.
 */
export class FormSummarySlot extends Model<InferAttributes<FormSummarySlot>, InferCreationAttributes<FormSummarySlot>> {
  declare formId: number;
  declare fieldKey: string;
  declare kind: SummarySlotKind;
  declare slot: number | null;
  /** false: retired (the field's kind changed); the slot number stays taken. */
  declare active: boolean;
  declare sinceVersion: number;
}

type Idx16 = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15;
type Idx8 = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
/** The slot columns: text t0..t15, number n0..n15 (DECIMAL: strings from some drivers), date d0..d7 with month m0..m7 and year y0..y7. */
export type SummarySlotValues = Partial<Record<`t${Idx16}`, string | null>> &
  Partial<Record<`n${Idx16}`, string | number | null>> &
  Partial<Record<`d${Idx8}` | `m${Idx8}` | `y${Idx8}`, string | null>>;

export interface FormSummaryRowAttributes extends SummarySlotValues {
  /** Primary key (formId, submissionId): a form's rows are contiguous where the key is clustered. */
  formId: number;
  submissionId: number;
  submitterId: number;
  deptId: number | null;
  status: string;
  /** Beijing calendar day of submission, its month and year. */
  submittedDate: string;
  submittedMonth: string;
  submittedYear: string;
}

/** One flat row per submission for summaries at submission grain (R3.14, R3.18, R16.9). */
export class FormSummaryRow extends Model<FormSummaryRowAttributes, FormSummaryRowAttributes> {}

export class FormSerial extends Model<InferAttributes<FormSerial>, InferCreationAttributes<FormSerial>> {
  declare formId: number;
  declare fieldKey: string;
  declare period: string;
  declare lastValue: number;
}

/** One correction of a stored submission (R16.10): the values it replaced and why. */
export class FormSubmissionChange extends Model<InferAttributes<FormSubmissionChange>, InferCreationAttributes<FormSubmissionChange>> {
  declare id: CreationOptional<number>;
  declare submissionId: number;
  /** The submission's rev after this change. */
  declare rev: number;
  declare actorId: number | null;
  declare reason: string;
  declare changes: Array<{ path: string; old: unknown; new: unknown }>;
  declare createdAt: Date;
}

export interface DataSourceColumn {
  key: string;
  label: string;
  type: 'text' | 'number' | 'money' | 'date';
}

/** A data source imported from an Excel sheet (R16.7); code-registered sources have no row here. */
export class FormDataSource extends Model<InferAttributes<FormDataSource>, InferCreationAttributes<FormDataSource>> {
  declare id: CreationOptional<number>;
  declare key: string;
  declare name: string;
  declare columns: DataSourceColumn[];
  declare keyColumn: string;
  declare labelColumn: string | null;
  /** 'all': everyone signed in; 'grant': people with a `view` grant on the source. */
  declare audience: string;
  declare rowCount: CreationOptional<number>;
  declare createdBy: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export class FormDataSourceRow extends Model<InferAttributes<FormDataSourceRow>, InferCreationAttributes<FormDataSourceRow>> {
  declare id: CreationOptional<number>;
  declare sourceId: number;
  declare rowKey: string;
  declare label: string | null;
  declare data: Record<string, unknown>;
}

/** An admin-defined summary table over a form's field index (R3.18, R16.9). */
export class FormReport extends Model<InferAttributes<FormReport>, InferCreationAttributes<FormReport>> {
  declare id: CreationOptional<number>;
  declare formId: number;
  declare name: string;
  declare spec: unknown;
  declare createdBy: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/**
 * Aliases of FormSubmission → FormFieldIndex joins used by summary queries (server/src/forms/
 * summary.ts): group fields g0 g1, measures m0..m5, row-level filters f0..f3. Fixed aliases keep
 * the queries plain Sequelize includes on every dialect.
 */
export const FORM_INDEX_ALIASES = ['g0', 'g1', 'm0', 'm1', 'm2', 'm3', 'm4', 'm5', 'f0', 'f1', 'f2', 'f3'] as const;

export interface FormModels {
  FormDef: typeof FormDef;
  FormVersion: typeof FormVersion;
  FormSubmission: typeof FormSubmission;
  FormFieldIndex: typeof FormFieldIndex;
  FormSerial: typeof FormSerial;
  FormSubmissionChange: typeof FormSubmissionChange;
  FormDataSource: typeof FormDataSource;
  FormDataSourceRow: typeof FormDataSourceRow;
  FormReport: typeof FormReport;
  FormSummarySlot: typeof FormSummarySlot;
  FormSummaryRow: typeof FormSummaryRow;
}

export function defineFormModels(sequelize: Sequelize): FormModels {
  class FormDefM extends FormDef {}
  class FormVersionM extends FormVersion {}
  class FormSubmissionM extends FormSubmission {}
  class FormFieldIndexM extends FormFieldIndex {}
  class FormSerialM extends FormSerial {}
  class FormSubmissionChangeM extends FormSubmissionChange {}
  class FormDataSourceM extends FormDataSource {}
  class FormDataSourceRowM extends FormDataSourceRow {}
  class FormReportM extends FormReport {}
  class FormSummarySlotM extends FormSummarySlot {}
  class FormSummaryRowM extends FormSummaryRow {}
  const common = { sequelize, underscored: true, freezeTableName: true } as const;
  // a fresh object per attribute: Sequelize writes field names into the definition it is given
  const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true });
  const str = (len: number, allowNull = true) => ({ type: DataTypes.STRING(len), allowNull });
  const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
  const date = () => ({ type: DataTypes.DATE(3), allowNull: false });

  FormDefM.init(
    {
      id: id(),
      key: { type: DataTypes.STRING(64), allowNull: false, field: 'form_key' },
      name: str(100, false),
      draft: jsonText<unknown>('draft', { allowNull: false }),
      rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      latestVersion: int(),
      standalone: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      createdBy: int(),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'form_def', timestamps: true },
  );
  FormVersionM.init(
    {
      id: id(),
      formId: int(false),
      version: int(false),
      schema: jsonText<unknown>('schema', { allowNull: false }),
      publishedBy: int(),
      publishedAt: date(),
    },
    { ...common, tableName: 'form_version', timestamps: false },
  );
  FormSubmissionM.init(
    {
      id: id(),
      formId: int(false),
      versionId: int(false),
      serialNo: str(64),
      data: jsonText<Record<string, unknown>>('data', { allowNull: false }),
      totals: jsonText<Record<string, Record<string, number>>>('totals'),
      submitterId: int(false),
      deptId: int(),
      status: str(16, false),
      rev: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'form_submission', timestamps: true },
  );
  FormFieldIndexM.init(
    {
      id: id(),
      submissionId: int(false),
      formId: int(false),
      fieldKey: str(130, false),
      rowNo: { type: DataTypes.INTEGER, allowNull: false, defaultValue: -1 },
      valueText: str(255),
      valueNum: { type: DataTypes.DECIMAL(24, 6), allowNull: true },
      valueDate: str(10),
      valueMonth: str(7),
      valueYear: str(4),
    },
    { ...common, tableName: 'form_field_index', timestamps: false },
  );
  FormSerialM.init(
    {
      formId: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
      fieldKey: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
      period: { type: DataTypes.STRING(16), allowNull: false, primaryKey: true },
      lastValue: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    },
    { ...common, tableName: 'form_serial', timestamps: false },
  );
  FormSubmissionChangeM.init(
    {
      id: id(),
      submissionId: int(false),
      rev: int(false),
      actorId: int(),
      reason: str(500, false),
      changes: jsonText<Array<{ path: string; old: unknown; new: unknown }>>('changes', { allowNull: false }),
      createdAt: date(),
    },
    { ...common, tableName: 'form_submission_change', timestamps: false },
  );
  FormDataSourceM.init(
    {
      id: id(),
      key: { type: DataTypes.STRING(64), allowNull: false, field: 'source_key' },
      name: str(100, false),
      columns: jsonText<DataSourceColumn[]>('columns', { allowNull: false }),
      keyColumn: str(64, false),
      labelColumn: str(64),
      audience: str(16, false),
      rowCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdBy: int(),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'form_data_source', timestamps: true },
  );
  FormDataSourceRowM.init(
    {
      id: id(),
      sourceId: int(false),
      rowKey: str(191, false),
      label: str(255),
      data: jsonText<Record<string, unknown>>('data', { allowNull: false }),
    },
    { ...common, tableName: 'form_data_source_row', timestamps: false },
  );
  FormReportM.init(
    {
      id: id(),
      formId: int(false),
      name: str(100, false),
      spec: jsonText<unknown>('spec', { allowNull: false }),
      createdBy: int(),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'form_report', timestamps: true },
  );
  FormSummarySlotM.init(
    {
      formId: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
      fieldKey: { type: DataTypes.STRING(130), allowNull: false, primaryKey: true },
      kind: { type: DataTypes.STRING(1), allowNull: false },
      slot: int(),
      active: { type: DataTypes.BOOLEAN, allowNull: false },
      sinceVersion: int(false),
    },
    { ...common, tableName: 'form_summary_slot', timestamps: false },
  );
  const slots: Record<string, ReturnType<typeof str> | { type: ReturnType<typeof DataTypes.DECIMAL>; allowNull: boolean }> = {};
  for (let i = 0; i < SUMMARY_SLOTS.t; i++) slots[`t${i}`] = str(255);
  for (let i = 0; i < SUMMARY_SLOTS.n; i++) slots[`n${i}`] = { type: DataTypes.DECIMAL(24, 6), allowNull: true };
  for (let i = 0; i < SUMMARY_SLOTS.d; i++) Object.assign(slots, { [`d${i}`]: str(10), [`m${i}`]: str(7), [`y${i}`]: str(4) });
  FormSummaryRowM.init(
    {
      formId: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
      submissionId: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
      submitterId: int(false),
      deptId: int(),
      status: str(16, false),
      submittedDate: str(10, false),
      submittedMonth: str(7, false),
      submittedYear: str(4, false),
      ...slots,
    },
    { ...common, tableName: 'form_summary_row', timestamps: false },
  );
  for (const as of FORM_INDEX_ALIASES) FormSubmissionM.hasMany(FormFieldIndexM, { as, foreignKey: 'submissionId', constraints: false });
  // the submission's summary row (its Beijing submission date, month and year for grouping)
  FormSubmissionM.hasOne(FormSummaryRowM, { as: 'sr', foreignKey: 'submissionId', constraints: false });
  return {
    FormDef: FormDefM,
    FormVersion: FormVersionM,
    FormSubmission: FormSubmissionM,
    FormFieldIndex: FormFieldIndexM,
    FormSerial: FormSerialM,
    FormSubmissionChange: FormSubmissionChangeM,
    FormDataSource: FormDataSourceM,
    FormDataSourceRow: FormDataSourceRowM,
    FormReport: FormReportM,
    FormSummarySlot: FormSummarySlotM,
    FormSummaryRow: FormSummaryRowM,
  };
}
