// The dashboard's shell: header, navigation and the hash router (#/jobs, #/jobs/7, #/pools, #/costs).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html, api, useRoute } from './lib.js';
import { JobsPage } from './jobs.js';
import { JobPage } from './job.js';
import { PoolsPage } from './pools.js';
import { CostsPage } from './costs.js';

function Where() {
  const [info, setInfo] = useState();
  useEffect(() => {
    api('/_info').then(setInfo, () => setInfo(undefined));
  }, []);
  if (!info) return null;
  return html`<span class="where" title=${info.endpoint}>${info.local ? 'embedded control plane' : info.endpoint.replace(/^https?:\/\//, '')}</span>`;
}

function App() {
  const route = useRoute();
  const [section, id] = route.parts;
  let page;
  if (section === 'jobs' && id) page = html`<${JobPage} jobId=${Number(id)} query=${route.query} />`;
  else if (section === 'pools') page = html`<${PoolsPage} name=${id} />`;
  else if (section === 'costs') page = html`<${CostsPage} query=${route.query} />`;
  else page = html`<${JobsPage} query=${route.query} />`;
  const tab = (name, label) => html`<a href=${`#/${name}`} class=${section === name || (!section && name === 'jobs') ? 'active' : ''}>${label}</a>`;
  return html`
    <header class="top">
      <a class="brand" href="#/jobs"><img src="/favicon.svg" alt="" width="22" height="22" /> skyless</a>
      <nav>${tab('jobs', 'Jobs')}${tab('pools', 'Pools')}${tab('costs', 'Cost')}</nav>
      <${Where} />
    </header>
    <main>${page}</main>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
