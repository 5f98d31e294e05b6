import { DataTypes, type QueryInterface } from 'sequelize';

// WeCom callbacks and messages (issue 6 items 2 and 6; R20.0, R20.1, R20.2, S1). Frozen once published.
//
// wecom_event: every authenticated callback POST, stored once by its dedupe key (unique): WeCom's
// retries and a replayed request insert nothing new and so act once. The row is written and the
// processing job enqueued in one transaction before the callback is answered; the job re-parses
// `plaintext` (the decrypted message XML) and records `status`/`result`.
//
// wecom_message: one row per outbox delivery sent through the WeCom channel, keyed by the outbox
// idempotency key (unique): `sending` is claimed before message/send, `sent` after it, so a retried
// delivery never sends twice (a crash in between resends with WeCom's duplicate check on). It keeps
// msgid (recall) and the send's response_code (update_template_card, single use, 72 h) of approval
// cards, whose `card_state` goes open → updated | recalled | expired. (wecom_user_id, sent_at) is
// the per-member send history for WeCom's 30-per-minute limit.
const str = (len: number, allowNull = false) => ({ type: DataTypes.STRING(len), allowNull });
const int = (allowNull = true) => ({ type: DataTypes.INTEGER, allowNull });
const date = (allowNull = false) => ({ type: DataTypes.DATE(3), allowNull });
const id = () => ({ type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false });

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable('wecom_event', {
    id: id(),
    dedupe_key: str(100),
    kind: str(64),
    from_user: str(64, true),
    plaintext: { type: DataTypes.TEXT, allowNull: false },
    status: str(16),
    result: str(500, true),
    received_at: date(),
    processed_at: date(true),
  });
  await qi.addIndex('wecom_event', ['dedupe_key'], { unique: true, name: 'wecom_event_dedupe_uq' });
  await qi.addIndex('wecom_event', ['received_at'], { name: 'wecom_event_received_ix' });

  await qi.createTable('wecom_message', {
    id: id(),
    idempotency_key: str(191),
    outbox_id: int(),
    user_id: int(false),
    wecom_user_id: str(64),
    msgtype: str(32),
    status: str(16),
    task_id: int(),
    card_task_id: str(128, true),
    msgid: str(128, true),
    response_code: str(255, true),
    card_state: str(16, true),
    result_text: str(200, true),
    created_at: date(),
    sent_at: date(true),
    card_updated_at: date(true),
  });
  await qi.addIndex('wecom_message', ['idempotency_key'], { unique: true, name: 'wecom_message_idem_uq' });
  await qi.addIndex('wecom_message', ['wecom_user_id', 'sent_at'], { name: 'wecom_message_member_ix' });
  await qi.addIndex('wecom_message', ['card_state'], { name: 'wecom_message_card_state_ix' });
  await qi.addIndex('wecom_message', ['card_task_id'], { name: 'wecom_message_card_task_ix' });
  await qi.addIndex('wecom_message', ['task_id'], { name: 'wecom_message_task_ix' });
}
