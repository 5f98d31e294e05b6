/**
 * @oa/wecom: everything WeCom (R20.0 WeCom access, R20.1/R20.2 notices and approvals, R3.8 reminders, P4 3,000+ users, S1). Depends on no other workspace package.
 *
 * API client (client.ts)
 *   new WecomClient({ corpId, secret, agentId?, apiBase? = $WECOM_API_BASE, now?, sleep?, tokenCache? })
 *   .sendMessage(body) → SendResult · .updateTemplateCard(body) · .recallMessage(msgid)
 *   .listDepartments(id?) · .listDepartmentIds(id?) · .getDepartment(id) · .listUsers(depId) · .listUsersSimple(depId)
 *   .getUser(userid) · .listUserIdsPage(cursor?, limit?) · .listAllUserIds()   (list_id: contact-sync secret only)
 *   .getUserInfoByCode(code) (H5 OAuth) · .exchangeLoginCode(code) (PC web/QR login) · .getUserDetail(ticket)
 *   .jscode2session(code) (mini program) · .getCorpJsapiTicket() · .getAgentJsapiTicket()
 *   .accessToken() · .invalidateToken() · .stats { calls, tokenFetches, retries, byPath }
 *   Errors: WecomApiError { errcode, errmsg, path }, WecomTransportError, WecomError { code }.
 *
 * Callbacks (callback.ts), pure functions for GET/POST /wecom/callback:
 *   verifyUrl(ctx.query, cfg) → string to answer as is
 *   parseEvent(ctx.query, rawBody, cfg) → { event: WecomEvent, dedupeKey, plaintext }
 *   both throw WecomCallbackError { code, httpStatus (401 bad signature / foreign corp, 400, 413) }.
 *   updateButtonReply(event, text, cfg) / encryptReply(xml, cfg): encrypted passive replies.
 *
 * JS-SDK (jssdk.ts): new JsapiTicketCache(client).signPage(url) → { corpId, agentId, url, config, agentConfig };
 *   signJsApi({ ticket, url, nonceStr, timestamp }), stripFragment(url).
 *
 * Messages (messages.ts): text · textcard · markdown · news · templateCard · approvalCard(input) ·
 *   approvalCardUpdate({ responseCode, outcome, ... }) · parseApprovalButtonKey(key) ·
 *   buildSendBodies(content, recipients, opts) (≤1000 users per call) · planMemberSends / recordSends (30/min guard).
 *
 * Fake WeCom (fake/server.ts): startFakeWecom(opts) → FakeWecom { url, close, messages, cardUpdates, clickCard,
 *   changeContact, injectFault, revokeTokens, mintCode, ... }; `npm run fake-wecom` runs it standalone.
 */

export * from './errors.ts';
export * from './client.ts';
export * from './callback.ts';
export * from './jssdk.ts';
export * from './messages.ts';
export { parseXmlSafely, decodeXmlText, type XmlNode, type XmlObject } from './xml.ts';
export * from './fake/server.ts';
export { Directory, type FakeDepartment, type FakeUser } from './fake/directory.ts';
