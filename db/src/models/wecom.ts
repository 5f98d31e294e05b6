import { DataTypes, Model, type CreationOptional, type InferAttributes, type InferCreationAttributes, type Sequelize } from 'sequelize';

// WeCom callbacks and messages (issue 6 items 2 and 6; R20.0, R20.1, R20.2, S1).
// Same rules as models/index.ts: fresh attribute definition objects, one subclass per Sequelize instance.
// Schema and its reasons: migrations/0010-wecom.ts.

export type WecomEventStatus = 'pending' | 'done' | 'ignored' | 'failed';

/** One callback delivery from WeCom, stored once per dedupe key (a replayed or retried POST acts once). */
export class WecomEvent extends Model<InferAttributes<WecomEvent>, InferCreationAttributes<WecomEvent>> {
  declare id: CreationOptional<number>;
  /** ParsedCallback.dedupeKey: `msg:<MsgId>` or `evt:<sha256>` */
  declare dedupeKey: string;
  /** the typed event's kind (template_card_event, change_contact, …) */
  declare kind: string;
  declare fromUser: string | null;
  /** the decrypted message XML, re-parsed by the job */
  declare plaintext: string;
  declare status: WecomEventStatus;
  /** what processing did, for the log and support (Chinese or a short code) */
  declare result: string | null;
  declare receivedAt: Date;
  declare processedAt: Date | null;
}

export type WecomMessageStatus = 'sending' | 'sent';
export type WecomCardState = 'open' | 'updated' | 'recalled' | 'expired';

/** One message/send made for one outbox delivery (the channel's idempotency record and the card's handle). */
export class WecomMessage extends Model<InferAttributes<WecomMessage>, InferCreationAttributes<WecomMessage>> {
  declare id: CreationOptional<number>;
  /** the outbox row's idempotency key: a delivery is sent once */
  declare idempotencyKey: string;
  declare outboxId: number | null;
  declare userId: number;
  /** the recipient's WeCom userid */
  declare wecomUserId: string;
  declare msgtype: string;
  declare status: WecomMessageStatus;
  /** workflow task of an approval card */
  declare taskId: number | null;
  /** the card's WeCom task_id (unique per app) */
  declare cardTaskId: string | null;
  declare msgid: string | null;
  /** single-use code from the send response (72 h) for update_template_card */
  declare responseCode: string | null;
  declare cardState: WecomCardState | null;
  declare resultText: string | null;
  declare createdAt: Date;
  declare sentAt: Date | null;
  declare cardUpdatedAt: Date | null;
}

export interface WecomModels {
  WecomEvent: typeof WecomEvent;
  WecomMessage: typeof WecomMessage;
}

const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true });
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const fk = () => ({ type: DataTypes.INTEGER, allowNull: true });

export function defineWecomModels(sequelize: Sequelize): WecomModels {
  class WecomEventM extends WecomEvent {}
  class WecomMessageM extends WecomMessage {}
  const common = { sequelize, underscored: true, freezeTableName: true, timestamps: false } as const;

  WecomEventM.init(
    {
      id: id(),
      dedupeKey: str(100),
      kind: str(64),
      fromUser: str(64, true),
      plaintext: { type: DataTypes.TEXT, allowNull: false },
      status: str(16),
      result: str(500, true),
      receivedAt: date(),
      processedAt: date(true),
    },
    { ...common, tableName: 'wecom_event' },
  );
  WecomMessageM.init(
    {
      id: id(),
      idempotencyKey: str(191),
      outboxId: fk(),
      userId: { type: DataTypes.INTEGER, allowNull: false },
      wecomUserId: str(64),
      msgtype: str(32),
      status: str(16),
      taskId: fk(),
      cardTaskId: str(128, true),
      msgid: str(128, true),
      responseCode: str(255, true),
      cardState: str(16, true),
      resultText: str(200, true),
      createdAt: date(),
      sentAt: date(true),
      cardUpdatedAt: date(true),
    },
    { ...common, tableName: 'wecom_message' },
  );
  return { WecomEvent: WecomEventM, WecomMessage: WecomMessageM };
}
