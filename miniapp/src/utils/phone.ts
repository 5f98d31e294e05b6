/** Tap to call or text (R20.7). */
export function callNumber(n: string | null | undefined): void {
  if (!n) return;
  uni.makePhoneCall({ phoneNumber: n, fail: () => undefined });
}

export function textNumber(n: string | null | undefined): void {
  if (!n) return;
  // #ifdef H5
  window.location.href = `sms:${n}`;
  // #endif
  // #ifndef H5
  uni.setClipboardData({ data: n, success: () => uni.showToast({ title: '号码已复制，可在短信中粘贴', icon: 'none' }) });
  // #endif
}
