/**
 * Passwords attackers try first: leaked-list leaders, keyboard walks and Chinese favourites
 * (pinyin, 520/1314 lucky numbers). Compared lower-cased, with and without symbols and trailing
 * digits, so `P@ssw0rd`, `Password123` and `woaini1314` are all refused.
 */
const LIST = `
123456 12345678 123456789 1234567890 111111 000000 666666 888888 123123 654321 112233 121212 123321 147258369 5201314 1314520
password passw0rd p@ssw0rd password1 passwd qwerty qwertyuiop qwe123 qweasd qweasdzxc asdfgh asdfghjkl zxcvbnm 1qaz2wsx 1q2w3e4r
1q2w3e4r5t qazwsx abc123 abcdef abcd1234 a123456 aa123456 a1b2c3 admin admin123 administrator root toor test test123 guest
letmein welcome welcome1 monkey dragon master sunshine princess football baseball iloveyou trustno1 superman batman shadow
woaini woaini1314 wodemima mima aini1314 zhangwei wangwei liwei liuyang zhongguo china beijing shanghai guangzhou shenzhen
hospital yiyuan kouqiang doctor nurse huanzhe changeme default secret computer internet server oracle mysql system
qq123456 wang123456 li123456 zhang123456 chen123456 huang123456 abc12345 Aa123456 Aa111111 aa111111
`;

export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(LIST.split(/\s+/).filter(Boolean).map((s) => s.toLowerCase()));
