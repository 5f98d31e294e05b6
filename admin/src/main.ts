import { createApp } from 'vue';
import { createPinia } from 'pinia';
// Element Plus: components are imported where they are used; these are the styles they need
// (each entry pulls in the styles of the components it depends on).
import 'element-plus/theme-chalk/base.css';
import 'element-plus/es/components/alert/style/css';
import 'element-plus/es/components/aside/style/css';
import 'element-plus/es/components/button/style/css';
import 'element-plus/es/components/card/style/css';
import 'element-plus/es/components/config-provider/style/css';
import 'element-plus/es/components/container/style/css';
import 'element-plus/es/components/descriptions/style/css';
import 'element-plus/es/components/descriptions-item/style/css';
import 'element-plus/es/components/dropdown/style/css';
import 'element-plus/es/components/dropdown-item/style/css';
import 'element-plus/es/components/dropdown-menu/style/css';
import 'element-plus/es/components/empty/style/css';
import 'element-plus/es/components/form/style/css';
import 'element-plus/es/components/form-item/style/css';
import 'element-plus/es/components/header/style/css';
import 'element-plus/es/components/icon/style/css';
import 'element-plus/es/components/input/style/css';
import 'element-plus/es/components/loading/style/css';
import 'element-plus/es/components/main/style/css';
import 'element-plus/es/components/menu/style/css';
import 'element-plus/es/components/menu-item/style/css';
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/pagination/style/css';
import 'element-plus/es/components/popover/style/css';
import 'element-plus/es/components/result/style/css';
import 'element-plus/es/components/table/style/css';
import 'element-plus/es/components/table-column/style/css';
import 'element-plus/es/components/tag/style/css';
import './styles.css';
import App from './App.vue';
import { router } from './router/index.ts';
import { onAuthProblem } from './api/client.ts';
import { useAuthStore } from './stores/auth.ts';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(router);

// Any API call that finds the session gone, or the password change still pending, sends the person
// to the right page (the router guard does the rest).
onAuthProblem((problem) => {
  const auth = useAuthStore(pinia);
  const current = router.currentRoute.value;
  if (problem === 'unauthenticated') {
    auth.clear();
    if (current.name !== 'login') {
      void router.replace({ name: 'login', query: current.fullPath !== '/' ? { redirect: current.fullPath, expired: '1' } : { expired: '1' } });
    }
  } else {
    auth.requirePasswordChange();
    if (current.name !== 'change-password') void router.replace({ name: 'change-password' });
  }
});

app.mount('#app');
