// Plays ClassLab's exported items in Citolab's QTI player (the package's self-contained bundle) the way a person
// does: the item is loaded from its URL into <item-container>, a choice is clicked or a number typed and the field
// left, then the item's response processing runs and its outcomes are read.
import '/player/cdn/index.js';

const container = document.querySelector('item-container');
let loads = 0;

// A fresh copy of the item (a new URL each time, so that no response or outcome of an earlier check remains).
function load(url) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${url}: the player did not load the item`)), 10000);
    container.addEventListener('qti-assessment-item-connected', async (event) => {
      clearTimeout(timer);
      const item = event.detail;
      // the interactions draw their own shadow DOM (the text field) after the item
      await Promise.all([...item.querySelectorAll('*')].filter((el) => el.updateComplete).map((el) => el.updateComplete));
      resolve(item);
    }, { once: true });
    container.itemURL = `${url}?load=${++loads}`;
  });
}

function variable(item, identifier) {
  const found = item.variables.find((v) => v.identifier === identifier);
  return found === undefined ? null : found.value ?? null;
}

function processed(item) {
  item.processResponse();
  return {
    response: variable(item, 'RESPONSE'),
    score: variable(item, 'SCORE'),
    misconception: variable(item, 'MISCONCEPTION'),
    declared: item.variables.map((v) => v.identifier),
  };
}

async function choose(item, identifiers) {
  for (const identifier of identifiers) {
    const choice = item.querySelector(
      `qti-simple-choice[identifier="${identifier}"], qti-inline-choice[identifier="${identifier}"]`);
    if (!choice) throw new Error(`no choice ${identifier} in the rendered item`);
    choice.click();
  }
}

function type(item, text) {
  const interaction = item.querySelector('qti-text-entry-interaction');
  const input = interaction && interaction.shadowRoot.querySelector('input');
  if (!input) throw new Error('no text field in the rendered item');
  input.focus();
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  // the player saves the response on `change` (a person leaving the field) and on keyup
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

// checks: [{url, choose: [identifier, ...]} | {url, type: "text"}] -> [{response, score, misconception, declared}]
async function run(checks) {
  const results = [];
  for (const check of checks) {
    const item = await load(check.url);
    if (check.type !== undefined) type(item, check.type);
    else await choose(item, check.choose);
    results.push(processed(item));
  }
  return results;
}

window.qtiPlayer = { load, run, processed };
window.dispatchEvent(new Event('qti-player-ready'));
