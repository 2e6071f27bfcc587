// The /docs page's viewer of /openapi.json: every operation grouped by tag (method, path,
// summary, scope, parameters, request body, responses, each with its schema and example), then the
// component schemas. Everything is built with DOM calls and textContent: nothing from the
// document is parsed as HTML.
/* global document, fetch, location */

const $ = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const child of children) if (child !== undefined && child !== null) el.append(child);
  return el;
};

const refName = (ref) => ref.replace('#/components/schemas/', '');
const anchorOf = (kind, name) => `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** A one-line summary of a schema: its type with constraints, or a link to a component. */
function typeOf(schema) {
  if (schema === undefined) return $('span', { text: 'any' });
  if (schema.$ref)
    return $('a', { href: `#${anchorOf('schema', refName(schema.$ref))}`, text: refName(schema.$ref) });
  if (schema.type === 'array') return $('span', {}, 'array of ', typeOf(schema.items));
  if (schema.oneOf) return $('span', { text: `one of ${schema.oneOf.length} shapes` });
  const notes = [];
  if (schema.enum) notes.push(schema.enum.map((v) => JSON.stringify(v)).join(' | '));
  if (schema.const !== undefined) notes.push(`= ${JSON.stringify(schema.const)}`);
  if (schema.format) notes.push(schema.format);
  if (schema.pattern) notes.push(`/${schema.pattern}/`);
  if (schema.minimum !== undefined || schema.maximum !== undefined)
    notes.push(`${schema.minimum ?? ''}…${schema.maximum ?? ''}`);
  if (schema.maxLength !== undefined) notes.push(`≤ ${schema.maxLength} chars`);
  return $(
    'span',
    {},
    $('code', { text: schema.type ?? 'object' }),
    notes.length ? ` ${notes.join(', ')}` : '',
  );
}

/** The properties of an object schema as a table (name, type, required, description). */
function propertiesTable(schema) {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return undefined;
  const required = new Set(schema.required ?? []);
  const rows = props.map(([name, prop]) =>
    $(
      'tr',
      {},
      $('td', {}, $('code', { text: name })),
      $('td', {}, typeOf(prop)),
      $('td', { text: required.has(name) ? 'required' : '' }),
      $('td', { text: prop.description ?? '' }),
    ),
  );
  return $(
    'table',
    {},
    $('thead', {}, $('tr', {}, ...['field', 'type', '', 'what'].map((h) => $('th', { text: h })))),
    $('tbody', {}, ...rows),
  );
}

const exampleBlock = (value) =>
  value === undefined
    ? undefined
    : $('pre', { class: 'example' }, typeof value === 'string' ? value : JSON.stringify(value, null, 2));

function schemaBlock(schema) {
  if (schema === undefined) return undefined;
  if (schema.type === 'object' && schema.properties) return propertiesTable(schema);
  return $('p', {}, 'Schema: ', typeOf(schema));
}

function parametersBlock(parameters) {
  if (!parameters || parameters.length === 0) return undefined;
  const rows = parameters.map((p) =>
    $(
      'tr',
      {},
      $('td', {}, $('code', { text: p.name })),
      $('td', { text: p.in }),
      $('td', {}, typeOf(p.schema)),
      $('td', { text: p.required ? 'required' : '' }),
      $('td', { text: p.description ?? '' }),
    ),
  );
  return $(
    'section',
    {},
    $('h4', { text: 'Parameters' }),
    $(
      'table',
      {},
      $('thead', {}, $('tr', {}, ...['name', 'in', 'type', '', 'what'].map((h) => $('th', { text: h })))),
      $('tbody', {}, ...rows),
    ),
  );
}

function contentBlocks(content) {
  return Object.entries(content ?? {}).map(([type, media]) =>
    $(
      'div',
      { class: 'media' },
      $('p', { class: 'type', text: type }),
      schemaBlock(media.schema),
      exampleBlock(media.example),
    ),
  );
}

function operationCard(path, method, op) {
  const scope = op['x-perun-scope'] ?? 'public';
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) =>
    $(
      'details',
      { class: `response s${status[0]}`, ...(status.startsWith('2') ? { open: '' } : {}) },
      $('summary', {}, $('code', { text: status }), ` ${r.description ?? ''}`),
      ...contentBlocks(r.content),
    ),
  );
  return $(
    'article',
    {
      class: 'operation',
      id: anchorOf('op', op.operationId),
      'data-search': `${method} ${path} ${op.summary}`.toLowerCase(),
    },
    $(
      'h3',
      {},
      $('span', { class: `method ${method}`, text: method.toUpperCase() }),
      $('code', { class: 'path', text: path }),
      $('span', { class: `scope ${scope}`, text: scope }),
    ),
    $('p', { text: op.summary ?? '' }),
    parametersBlock(op.parameters),
    op.requestBody
      ? $('section', {}, $('h4', { text: 'Request body' }), ...contentBlocks(op.requestBody.content))
      : undefined,
    $('section', {}, $('h4', { text: 'Responses' }), ...responses),
  );
}

function schemaCard(name, schema) {
  const variants = (schema.oneOf ?? []).map((v) =>
    $('details', {}, $('summary', {}, typeOf(v.properties?.type ?? v)), propertiesTable(v)),
  );
  return $(
    'article',
    { class: 'schema', id: anchorOf('schema', name), 'data-search': name.toLowerCase() },
    $('h3', {}, $('code', { text: name })),
    schema.description ? $('p', { text: schema.description }) : undefined,
    schema.properties ? propertiesTable(schema) : undefined,
    ...variants,
    ...(schema.examples ?? []).map(exampleBlock),
  );
}

function render(doc) {
  document.getElementById('title').textContent = `${doc.info.title} REST API (v${doc.info.version})`;
  document.getElementById('description').textContent = doc.info.description ?? '';
  const main = document.getElementById('main');
  const nav = document.getElementById('nav');
  main.replaceChildren();
  const byTag = new Map();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  for (const [tag, ops] of byTag) {
    main.append(
      $('h2', { id: anchorOf('tag', tag), text: tag }),
      ...ops.map(([p, m, op]) => operationCard(p, m, op)),
    );
    nav.append(
      $('h2', {}, $('a', { href: `#${anchorOf('tag', tag)}`, text: tag })),
      $(
        'ul',
        {},
        ...ops.map(([p, m, op]) =>
          $(
            'li',
            {},
            $(
              'a',
              { href: `#${anchorOf('op', op.operationId)}` },
              $('span', { class: `method ${m}`, text: m.toUpperCase() }),
              ` ${p}`,
            ),
          ),
        ),
      ),
    );
  }
  const schemas = Object.entries(doc.components?.schemas ?? {});
  main.append($('h2', { id: 'schemas', text: 'Schemas' }), ...schemas.map(([n, s]) => schemaCard(n, s)));
  nav.append($('h2', {}, $('a', { href: '#schemas', text: 'Schemas' })));
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

function filter(text) {
  const wanted = text.trim().toLowerCase();
  for (const el of document.querySelectorAll('[data-search]')) {
    el.hidden = wanted !== '' && !el.getAttribute('data-search').includes(wanted);
  }
}

document.getElementById('filter').addEventListener('input', (e) => filter(e.target.value));

fetch('/openapi.json')
  .then((res) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  })
  .then(render)
  .catch((err) => {
    document.getElementById('status').textContent = `Could not load /openapi.json: ${err.message}`;
  });
