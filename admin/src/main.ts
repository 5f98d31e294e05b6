import { createApp } from 'vue';
import { createPinia } from 'pinia';
// Element Plus is registered as a whole: the console uses most of its components (trees, drawers,
// selects, uploads, date pickers …), and one stylesheet keeps every one of them styled.
import ElementPlus from 'element-plus';
import 'element-plus/theme-chalk/index.css';
import './styles.css';
import App from './App.vue';
import { router } from './router/index.ts';
import { onAuthProblem } from './api/client.ts';
import { useAuthStore } from './stores/auth.ts';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(ElementPlus);
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
