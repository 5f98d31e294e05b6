import { createSSRApp } from 'vue';
import * as Pinia from 'pinia';
import App from './App.vue';
import { linkToPage } from './utils/links';

// #ifdef H5
// Deep links (issue 7 item 7): the server's notification links `/workflow/tasks/<id>` and
// `/workflow/instances/<id>` reach us as H5 URLs (the server answers unknown paths with this app);
// rewrite them to the page before uni's router reads the address.
{
  const target = linkToPage(window.location.pathname);
  if (target && target !== window.location.pathname) window.history.replaceState(null, '', target);
}
// #endif

export function createApp() {
  const app = createSSRApp(App);
  app.use(Pinia.createPinia());
  return { app, Pinia };
}
