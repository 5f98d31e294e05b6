import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';
import { jsonText } from '../json.ts';

// Personnel files (人事档案, issue 3 item 4, R12.2): custom field definitions, values, change history.
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.

export type PersonFieldType = 'text' | 'number' | 'date' | 'select' | 'multiselect' | 'attachment';

/** Type-specific settings of a custom field; which keys apply depends on the type. */
export interface PersonFieldOptions {
  /** select, multiselect */
  choices?: string[];
  /** text */
  maxLength?: number;
  /** text: shown as a multi-line box */
  multiline?: boolean;
  /** number */
  min?: number;
  max?: number;
  integer?: boolean;
  /** date: `YYYY-MM-DD` bounds */
  minDate?: string;
  maxDate?: string;
  /** multiselect */
  maxItems?: number;
  /** attachment */
  maxFiles?: number;
}

/** 自定义字段: an admin-defined field of the personnel file. Deleting one disables it. */
export class PersonField extends Model<InferAttributes<PersonField>, InferCreationAttributes<PersonField>> {
  declare id: CreationOptional<number>;
  /** ASCII name the values are stored under (column `field_key`); never changes */
  declare key: string;
  declare label: string;
  declare type: PersonFieldType;
  declare options: PersonFieldOptions | null;
  declare required: CreationOptional<boolean>;
  declare sort: CreationOptional<number>;
  declare enabled: CreationOptional<boolean>;
  declare createdBy: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

/**
 * 人事档案: one per person. Sensitive fields exist only as ciphertext (`*Enc`, see
 * server/src/org/pii-crypto.ts); `idNumberHash` is the HMAC blind index of the ID number.
 */
export class PersonProfile extends Model<InferAttributes<PersonProfile>, InferCreationAttributes<PersonProfile>> {
  declare userId: number;
  declare birthDate: string | null;
  declare ethnicity: string | null;
  declare nativePlace: string | null;
  declare politicalStatus: string | null;
  declare maritalStatus: string | null;
  declare education: string | null;
  declare degree: string | null;
  declare graduateSchool: string | null;
  declare major: string | null;
  declare graduationDate: string | null;
  declare workStartDate: string | null;
  declare hireDate: string | null;
  declare employmentType: string | null;
  declare unionMember: boolean | null;
  declare unionJoinDate: string | null;
  declare emergencyContact: string | null;
  declare emergencyPhone: string | null;
  declare bankName: string | null;
  declare remark: string | null;
  declare idNumberEnc: string | null;
  declare idNumberHash: string | null;
  declare bankAccountEnc: string | null;
  declare homeAddressEnc: string | null;
  /** custom field values by field key */
  declare custom: Record<string, unknown> | null;
  declare version: CreationOptional<number>;
  declare updatedBy: number | null;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;
}

export type PersonFileChangeSource = 'edit' | 'info_change' | 'import';

/** One changed field of a personnel file: who, when, old and new value (ciphertext if sensitive). */
export class PersonFileChange extends Model<InferAttributes<PersonFileChange>, InferCreationAttributes<PersonFileChange>> {
  declare id: CreationOptional<number>;
  declare userId: number;
  /** fixed field name (`birthDate`) or `custom.<key>` */
  declare field: string;
  /** the field's label when it changed */
  declare label: string;
  declare sensitive: CreationOptional<boolean>;
  /** JSON text; for sensitive fields the ciphertext */
  declare oldValue: string | null;
  declare newValue: string | null;
  /** the file's version after the change: rows of one edit share it */
  declare version: number;
  declare source: PersonFileChangeSource;
  declare reason: string | null;
  declare changedBy: number | null;
  declare changedAt: Date;
}

export interface PersonnelModels {
  PersonField: typeof PersonField;
  PersonProfile: typeof PersonProfile;
  PersonFileChange: typeof PersonFileChange;
}

export function definePersonnelModels(sequelize: Sequelize): PersonnelModels {
  class PersonFieldM extends PersonField {}
  class PersonProfileM extends PersonProfile {}
  class PersonFileChangeM extends PersonFileChange {}
  const common = { sequelize, underscored: true, freezeTableName: true } as const;
  // a fresh object per attribute: Sequelize writes field names into the definition it is given
  const str = (len: number, allowNull = true) => ({ type: DataTypes.STRING(len), allowNull });
  const day = () => ({ type: DataTypes.STRING(10), allowNull: true });
  const text = () => ({ type: DataTypes.TEXT, allowNull: true });
  const date = () => ({ type: DataTypes.DATE(3), allowNull: false });
  const bool = (defaultValue: boolean) => ({ type: DataTypes.BOOLEAN, allowNull: false, defaultValue });
  const fk = () => ({ type: DataTypes.INTEGER, allowNull: true });

  PersonFieldM.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      key: { type: DataTypes.STRING(64), allowNull: false, field: 'field_key' },
      label: str(100, false),
      type: str(16, false),
      options: jsonText<PersonFieldOptions>('options'),
      required: bool(false),
      sort: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      enabled: bool(true),
      createdBy: fk(),
      createdAt: date(),
      updatedAt: date(),
    },
    { ...common, tableName: 'person_field', timestamps: true },
  );
  PersonProfileM.init(
    {
      userId: { type: DataTypes.INTEGER, primaryKey: true },
      birthDate: day(),
      ethnicity: str(32),
      nativePlace: str(100),
      politicalStatus: str(32),
      maritalStatus: str(16),
      education: str(32),
      degree: str(32),
      graduateSchool: str(100),
      major: str(100),
      graduationDate: day(),
      workStartDate: day(),
      hireDate: day(),
      employmentType: str(32),
      unionMember: { type: DataTypes.BOOLEAN, allowNull: true },
      unionJoinDate: day(),
      emergencyContact: str(64),
      emergencyPhone: str(32),
      bankName: str(100),
      remark: str(500),
      idNumberEnc: text(),
      idNumberHash: str(64),
      bankAccountEnc: text(),
      homeAddressEnc: text(),
      custom: jsonText<Record<string, unknown>>('custom'),
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      updatedBy: fk(),
      createdAt: date(),
      updatedAt: date(),
    },
    // `version: true`: every save adds `WHERE version = …` and increments it
    { ...common, tableName: 'person_profile', timestamps: true, version: true },
  );
  PersonFileChangeM.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      userId: { type: DataTypes.INTEGER, allowNull: false },
      field: str(80, false),
      label: str(100, false),
      sensitive: bool(false),
      oldValue: text(),
      newValue: text(),
      version: { type: DataTypes.INTEGER, allowNull: false },
      source: str(16, false),
      reason: str(500),
      changedBy: fk(),
      changedAt: date(),
    },
    { ...common, tableName: 'person_file_change', timestamps: false },
  );
  return { PersonField: PersonFieldM, PersonProfile: PersonProfileM, PersonFileChange: PersonFileChangeM };
}
