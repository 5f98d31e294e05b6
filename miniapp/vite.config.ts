import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import uniModule from '@dcloudio/vite-plugin-uni';

// @dcloudio/vite-plugin-uni is CommonJS: its default export arrives wrapped under ESM.
const uni = ((uniModule as unknown as { default?: typeof uniModule }).default ?? uniModule) as typeof uniModule;
const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * wot-design-uni loads its icon font from a public CDN (at.alicdn.com). Hospital intranets cannot
 * reach it and nothing may leave our server (issue 7, "Works on a closed hospital network"), so the
 * font is inlined as a data: URI (allowed by the server's CSP `font-src 'self' data:`; the
 * mini-program accepts base64 fonts in wxss but not local font files) and the CDN rule is dropped.
 */
function localIconFont(): Plugin {
  const dir = path.join(here, 'node_modules/wot-design-uni/components/wd-icon');
  return {
    name: 'oa:local-icon-font',
    enforce: 'pre',
    transform(code, id) {
      // the SFC itself (not its ?vue&type=… sub-requests, which are served from the transformed descriptor)
      if (id.includes('?') || !/wot-design-uni\/components\/wd-icon\/wd-icon\.vue$/.test(id)) return null;
      const font = fs.readFileSync(path.join(dir, 'wd-icons.ttf')).toString('base64');
      let scss = fs.readFileSync(path.join(dir, 'index.scss'), 'utf8');
      // drop every @font-face (the CDN one and the H5-only relative one) and the conditional comments around it
      scss = scss.replace(/\/\*\s*#ifdef[^*]*\*\/|\/\*\s*#endif\s*\*\//g, '').replace(/@font-face\s*\{[^}]*\}/g, '');
      if (/https?:\/\//.test(scss.replace(/\/\/.*$/gm, ''))) throw new Error('wd-icon/index.scss still refers to a remote URL');
      const face = `@font-face {\n  font-family: 'wd-icons';\n  src: url('data:font/ttf;base64,${font}') format('truetype');\n  font-weight: normal;\n  font-style: normal;\n}\n`;
      const out = code.replace("@import './index.scss';", `${face}${scss}`);
      if (out === code) throw new Error('wd-icon.vue changed upstream: the icon font is no longer inlined');
      return { code: out, map: null };
    },
  };
}

/**
 * uni-h5's own stylesheet preloads page-head shadow images from cdn.dcloud.net.cn (an animation
 * three seconds after start). Nothing may leave the hospital network: drop every remote url() from
 * the emitted CSS and fail the build if a remote reference would remain in CSS.
 */
function noRemoteCss(): Plugin {
  return {
    name: 'oa:no-remote-css',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type !== 'asset' || !file.fileName.endsWith('.css')) continue;
        const css = typeof file.source === 'string' ? file.source : Buffer.from(file.source).toString('utf8');
        const out = css.replace(/url\(\s*['"]?https?:\/\/[^)'"]*['"]?\s*\)/g, 'none');
        if (/@import\s+(url\()?['"]?https?:/.test(out)) throw new Error(`${file.fileName} imports a remote stylesheet`);
        if (out !== css) file.source = out;
      }
    },
  };
}

/**
 * uni's mini-program runtime preloads a shadow image from a DCloud CDN three seconds after start
 * (`preloadAsset` in @dcloudio/uni-mp-weixin, host name spelled as char codes). Switch it off.
 */
function noRemotePreload(): Plugin {
  return {
    name: 'oa:no-remote-preload',
    enforce: 'pre',
    transform(code, id) {
      if (!/@dcloudio\/uni-mp-weixin\/dist\/uni\.mp\.esm\.js$/.test(id.split('?')[0]!)) return null;
      const out = code.replace('function preloadAsset() {', 'function preloadAsset() {\n    return; // oa: nothing may leave the hospital network');
      if (out === code) throw new Error('uni-mp-weixin changed: preloadAsset() not found, the CDN preload is no longer disabled');
      return { code: out, map: null };
    },
  };
}

export default defineConfig({
  plugins: [localIconFont(), noRemotePreload(), uni(), noRemoteCss()],
  resolve: { alias: { '@': path.join(here, 'src') } },
  build: { sourcemap: false, chunkSizeWarningLimit: 800 },
});
