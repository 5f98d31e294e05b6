/** Shown at `/` until the staff client (miniapp H5 build) exists. */
export const LANDING_HTML = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>医院协同办公系统</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.7">
<h1>医院协同办公系统</h1>
<p>服务已启动。</p>
<ul>
<li><a href="/admin/">管理后台</a></li>
<li><a href="/api/docs/">接口文档</a></li>
<li><a href="/api/health">健康检查</a></li>
</ul>
<p>员工移动端（企业微信 / H5）构建后将在此地址提供。</p>
</body></html>`;
