// GraphiQL 4 (CodeMirror 5) leaves its editors' hidden textareas unlabelled, its scroll areas
// unfocusable and its tabs nesting buttons; these patches give assistive technology what it needs.
const EDITORS: [string, string][] = [
  ['.graphiql-query-editor', 'GraphQL operation'],
  ['.graphiql-editor-tool .graphiql-editor:nth-child(1)', 'Variables (JSON)'],
  ['.graphiql-editor-tool .graphiql-editor:nth-child(2)', 'Headers (JSON)'],
  ['.graphiql-response', 'Response'],
];

function patch(root: ParentNode): void {
  for (const [selector, label] of EDITORS)
    for (const textarea of root.querySelectorAll<HTMLTextAreaElement>(`${selector} textarea:not([aria-label])`))
      textarea.setAttribute('aria-label', label);
  for (const textarea of root.querySelectorAll<HTMLTextAreaElement>('.graphiql-container textarea:not([aria-label])'))
    textarea.setAttribute('aria-label', 'Editor');
  for (const scroller of root.querySelectorAll<HTMLElement>('.CodeMirror-scroll'))
    if (scroller.tabIndex !== 0) scroller.tabIndex = 0;
  // A tab that holds its own buttons (select, close) is a list item of controls, not a single tab.
  for (const tab of root.querySelectorAll<HTMLElement>('.graphiql-tab[role="tab"]')) {
    tab.setAttribute('role', 'listitem');
    tab.removeAttribute('aria-selected');
  }
  for (const list of root.querySelectorAll<HTMLElement>('.graphiql-tabs[role="tablist"]'))
    list.setAttribute('role', 'list');
}

export function patchGraphiQLAccessibility(): void {
  patch(document);
  new MutationObserver(() => patch(document)).observe(document.body, { childList: true, subtree: true });
}
