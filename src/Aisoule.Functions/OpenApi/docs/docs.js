// Renders the API reference from openapi.json, served by the app itself (no CDN, no inline script).
// Every operation becomes an <article data-operation-id="…">; text from the document is only ever set as text.
'use strict';

(function () {
  const methods = ['get', 'post', 'put', 'patch', 'delete'];

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Text with `code` spans as <code> elements (everything still set as text, never as HTML).
  function rich(text) {
    return String(text || '').split('`').map((part, i) => (i % 2 === 1 ? el('code', {}, part) : part));
  }

  function resolve(doc, node) {
    let seen = 0;
    while (node && node.$ref && seen++ < 20) {
      node = node.$ref.replace(/^#\//, '').split('/').reduce((at, key) => (at ? at[key] : undefined), doc);
    }
    return node || {};
  }

  function typeOf(doc, schema) {
    if (schema.$ref) return schema.$ref.split('/').pop();
    const s = schema;
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map((x) => typeOf(doc, x)).join(' | ');
    if (s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) {
      return (Array.isArray(s.type) ? s.type.filter((t) => t !== 'array').concat(['array']).join(' | ') : 'array') + ' of ' + typeOf(doc, s.items || {});
    }
    if (Array.isArray(s.type)) return s.type.join(' | ');
    return s.type || (s.properties ? 'object' : 'any');
  }

  function limits(schema) {
    const s = schema;
    const parts = [];
    if (s.minLength !== undefined || s.maxLength !== undefined) parts.push(`length ${s.minLength ?? 0}–${s.maxLength ?? '∞'}`);
    if (s.maxItems !== undefined) parts.push(`at most ${s.maxItems} items`);
    if (s.minimum !== undefined || s.maximum !== undefined) parts.push(`${s.minimum ?? '−∞'}–${s.maximum ?? '∞'}`);
    if (s.pattern) parts.push(`pattern ${s.pattern}`);
    if (s.format) parts.push(s.format);
    return parts.join(', ');
  }

  function fields(doc, schema, depth) {
    const s = resolve(doc, schema);
    const props = s.properties || (s.allOf ? Object.assign({}, ...s.allOf.map((x) => resolve(doc, x).properties || {})) : null);
    if (!props || depth > 2) return el('p', { class: 'muted' }, el('code', {}, typeOf(doc, schema)));
    const required = new Set(s.required || []);
    const rows = Object.entries(props).map(([name, prop]) => {
      const resolved = resolve(doc, prop);
      return el('tr', {},
        el('td', {}, el('code', {}, name), required.has(name) ? ' *' : ''),
        el('td', {}, el('code', {}, typeOf(doc, prop))),
        el('td', {}, [rich(resolved.description || prop.description || ''), limits(resolved) ? el('span', { class: 'muted' }, ' (' + limits(resolved) + ')') : '']));
    });
    return el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'field'), el('th', {}, 'type'), el('th', {}, 'meaning'))), el('tbody', {}, rows));
  }

  function operation(doc, path, method, op) {
    const security = (op.security || []).map((req) => Object.entries(req).map(([scheme, scopes]) => scheme + (scopes.length ? ` (${scopes.join(', ')})` : '')).join(' + '));
    const parameters = (op.parameters || []).map((p) => resolve(doc, p));
    const article = el('article', { class: 'operation', id: op.operationId, 'data-operation-id': op.operationId },
      el('div', { class: 'signature' }, el('span', { class: 'method ' + method }, method.toUpperCase()), el('span', {}, '/api' + path)),
      el('p', { class: 'summary' }, op.summary || op.operationId),
      op.description ? el('p', {}, rich(op.description)) : null,
      el('p', { class: 'security' }, security.length ? 'Credentials: ' + security.join(' or ') : 'No credentials needed.'));
    if (parameters.length) {
      article.append(el('h4', {}, 'Parameters'), el('table', {}, el('tbody', {}, parameters.map((p) =>
        el('tr', {}, el('td', {}, el('code', {}, p.name), p.required ? ' *' : ''), el('td', {}, p.in), el('td', {}, el('code', {}, typeOf(doc, p.schema || {}))), el('td', {}, rich(p.description)))))));
    }
    const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    if (body) article.append(el('h4', {}, 'Body (application/json)'), fields(doc, body.schema, 0));
    article.append(el('h4', {}, 'Responses'));
    const rows = Object.entries(op.responses || {}).map(([status, response]) => {
      const schema = response.content && response.content['application/json'] && response.content['application/json'].schema;
      const codes = schema && schema.allOf && schema.allOf[1] && schema.allOf[1].properties && schema.allOf[1].properties.code ? schema.allOf[1].properties.code.enum : null;
      return el('tr', {}, el('td', {}, el('code', {}, status)), el('td', { class: 'codes' }, codes ? codes.map((c) => el('code', {}, c)) : response.description || ''));
    });
    article.append(el('table', {}, el('tbody', {}, rows)));
    const success = Object.entries(op.responses || {}).find(([status]) => status.startsWith('2'));
    const data = success && success[1].content && success[1].content['application/json'] && success[1].content['application/json'].schema
      && success[1].content['application/json'].schema.properties && success[1].content['application/json'].schema.properties.data;
    if (data) article.append(el('h4', {}, `data of the ${success[0]} answer`), fields(doc, data, 0));
    return article;
  }

  function render(doc) {
    const main = document.getElementById('main');
    const nav = document.getElementById('nav');
    main.replaceChildren(el('h1', {}, doc.info.title + ' ' + doc.info.version), el('p', {}, doc.info.summary || ''), el('p', {}, rich(doc.info.description)));
    nav.replaceChildren(el('strong', {}, doc.info.title));
    const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of methods) {
        if (!item[method]) continue;
        const tag = (item[method].tags || ['Other'])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([path, method, item[method]]);
      }
    }
    for (const [tag, operations] of byTag) {
      if (!operations.length) continue;
      const description = (doc.tags || []).find((t) => t.name === tag);
      const section = el('section', { class: 'tag', id: 'tag-' + tag }, el('h2', {}, tag), description ? el('p', { class: 'muted' }, rich(description.description)) : null);
      nav.append(el('h2', {}, tag));
      for (const [path, method, op] of operations) {
        section.append(operation(doc, path, method, op));
        nav.append(el('a', { href: '#' + op.operationId, title: method.toUpperCase() + ' /api' + path }, method.toUpperCase() + ' ' + path));
      }
      main.append(section);
    }
    document.body.setAttribute('data-rendered', String(document.querySelectorAll('[data-operation-id]').length));
  }

  fetch('openapi.json', { headers: { Accept: 'application/json' } })
    .then((response) => {
      if (!response.ok) throw new Error('openapi.json answered ' + response.status);
      return response.json();
    })
    .then(render)
    .catch((error) => {
      const status = document.getElementById('status');
      status.className = 'error';
      status.textContent = 'Could not load the API description: ' + error.message;
    });
})();
