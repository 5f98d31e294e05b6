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
}

export class FormSerial extends Model<InferAttributes<FormSerial>, InferCreationAttributes<FormSerial>> {
  declare formId: number;
  declare fieldKey: string;
  declare period: string;
  declare lastValue: number;
}

export interface FormModels {
  FormDef: typeof FormDef;
  FormVersion: typeof FormVersion;
  FormSubmission: typeof FormSubmission;
  FormFieldIndex: typeof FormFieldIndex;
  FormSerial: typeof FormSerial;
}

export function defineFormModels(sequelize: Sequelize): FormModels {
  class FormDefM extends FormDef {}
  class FormVersionM extends FormVersion {}
  class FormSubmissionM extends FormSubmission {}
  class FormFieldIndexM extends FormFieldIndex {}
  class FormSerialM extends FormSerial {}
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
  return { FormDef: FormDefM, FormVersion: FormVersionM, FormSubmission: FormSubmissionM, FormFieldIndex: FormFieldIndexM, FormSerial: FormSerialM };
}
