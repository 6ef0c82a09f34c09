#!/usr/bin/env node
// Generates data/neardup/eval-pairs.tsv, the labelled prompt pairs that
// measure near-duplicate matching (data/neardup/README.md): pairs that must
// merge (the same prompt written differently) and pairs that must not (a
// meaning-bearing change), 300 per category, from scenes drawn by a seeded
// PRNG. Deterministic: the same word list gives the same file byte for byte.
//
//   node scripts/neardup-eval-gen.mjs [--out data/neardup/eval-pairs.tsv]
//                                     [--words /usr/share/dict/american-english]
//
// The word list (Debian wamerican) keeps generated typos from being real
// words ("snow" -> "show" is a different word, not a typo). Node 20, no npm
// packages.

import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const OUT = option('--out', 'data/neardup/eval-pairs.tsv');
const WORDS = option('--words', '/usr/share/dict/american-english');
const PER_CATEGORY = 300;
const SEED = 20240611;

// ---------------------------------------------------------------- randomness

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
const pick = (list) => list[Math.floor(rand() * list.length)];
const chance = (p) => rand() < p;
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
function shuffle(list) {
  const out = list.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
function sample(list, n) {
  return shuffle(list).slice(0, n);
}
function pickOther(list, not, same = () => false) {
  const options = list.filter((x) => x !== not && !same(x, not));
  return pick(options);
}

// ---------------------------------------------------------------- word list

const dictionary = new Set();
const properNouns = new Set();
for (const line of readFileSync(WORDS, 'utf8').split('\n')) {
  if (!line) continue;
  if (line[0] !== line[0].toLowerCase()) properNouns.add(line.toLowerCase());
  else dictionary.add(line);
}
const isRealWord = (w) => dictionary.has(w) || properNouns.has(w);

// ---------------------------------------------------------------- lexicon

// [singular, plural, kind]
const NOUNS = [
  ['fox', 'foxes', 'animal'], ['cat', 'cats', 'animal'], ['dog', 'dogs', 'animal'],
  ['owl', 'owls', 'animal'], ['horse', 'horses', 'animal'], ['rabbit', 'rabbits', 'animal'],
  ['bear', 'bears', 'animal'], ['wolf', 'wolves', 'animal'], ['tiger', 'tigers', 'animal'],
  ['lion', 'lions', 'animal'], ['elephant', 'elephants', 'animal'],
  ['giraffe', 'giraffes', 'animal'], ['penguin', 'penguins', 'animal'],
  ['dolphin', 'dolphins', 'animal'], ['whale', 'whales', 'animal'], ['eagle', 'eagles', 'animal'],
  ['parrot', 'parrots', 'animal'], ['butterfly', 'butterflies', 'animal'],
  ['dragon', 'dragons', 'animal'], ['unicorn', 'unicorns', 'animal'], ['goat', 'goats', 'animal'],
  ['mouse', 'mice', 'animal'], ['moose', 'moose', 'animal'], ['duck', 'ducks', 'animal'],
  ['crow', 'crows', 'animal'], ['cow', 'cows', 'animal'], ['snake', 'snakes', 'animal'],
  ['bee', 'bees', 'animal'], ['sheep', 'sheep', 'animal'], ['snail', 'snails', 'animal'],
  ['seal', 'seals', 'animal'], ['pig', 'pigs', 'animal'], ['pug', 'pugs', 'animal'],
  ['frog', 'frogs', 'animal'], ['flamingo', 'flamingos', 'animal'], ['lamb', 'lambs', 'animal'],
  ['bull', 'bulls', 'animal'], ['bat', 'bats', 'animal'], ['rat', 'rats', 'animal'],
  ['squirrel', 'squirrels', 'animal'], ['hedgehog', 'hedgehogs', 'animal'],
  ['firefly', 'fireflies', 'animal'], ['koala', 'koalas', 'animal'], ['raccoon', 'raccoons', 'animal'],
  ['robot', 'robots', 'person'], ['astronaut', 'astronauts', 'person'],
  ['knight', 'knights', 'person'], ['wizard', 'wizards', 'person'], ['pirate', 'pirates', 'person'],
  ['girl', 'girls', 'person'], ['boy', 'boys', 'person'], ['woman', 'women', 'person'],
  ['man', 'men', 'person'], ['child', 'children', 'person'], ['ballerina', 'ballerinas', 'person'],
  ['chef', 'chefs', 'person'], ['musician', 'musicians', 'person'], ['cyclist', 'cyclists', 'person'],
  ['clown', 'clowns', 'person'], ['fisherman', 'fishermen', 'person'], ['firefighter', 'firefighters', 'person'],
  ['lighthouse', 'lighthouses', 'building'], ['castle', 'castles', 'building'],
  ['house', 'houses', 'building'], ['cottage', 'cottages', 'building'], ['windmill', 'windmills', 'building'],
  ['tent', 'tents', 'building'], ['bridge', 'bridges', 'building'], ['tower', 'towers', 'building'],
  ['car', 'cars', 'vehicle'], ['bicycle', 'bicycles', 'vehicle'], ['sailboat', 'sailboats', 'vehicle'],
  ['boat', 'boats', 'vehicle'], ['ship', 'ships', 'vehicle'], ['train', 'trains', 'vehicle'],
  ['plane', 'planes', 'vehicle'], ['tram', 'trams', 'vehicle'], ['motorcycle', 'motorcycles', 'vehicle'],
  ['hot air balloon', 'hot air balloons', 'vehicle'], ['wagon', 'wagons', 'vehicle'],
  ['teapot', 'teapots', 'thing'], ['lantern', 'lanterns', 'thing'], ['umbrella', 'umbrellas', 'thing'],
  ['guitar', 'guitars', 'thing'], ['book', 'books', 'thing'], ['clock', 'clocks', 'thing'],
  ['candle', 'candles', 'thing'], ['vase', 'vases', 'thing'], ['chair', 'chairs', 'thing'],
  ['lamp', 'lamps', 'thing'], ['coat', 'coats', 'thing'], ['hat', 'hats', 'thing'],
  ['cap', 'caps', 'thing'], ['box', 'boxes', 'thing'], ['crown', 'crowns', 'thing'],
  ['shell', 'shells', 'thing'], ['shelf', 'shelves', 'thing'], ['bell', 'bells', 'thing'],
  ['ball', 'balls', 'thing'], ['mug', 'mugs', 'thing'], ['rug', 'rugs', 'thing'],
  ['kite', 'kites', 'thing'], ['flag', 'flags', 'thing'], ['handle', 'handles', 'thing'],
  ['chain', 'chains', 'thing'], ['cloak', 'cloaks', 'thing'], ['fridge', 'fridges', 'thing'],
  ['pen', 'pens', 'thing'], ['pan', 'pans', 'thing'], ['dish', 'dishes', 'thing'],
  ['hose', 'hoses', 'thing'], ['nail', 'nails', 'thing'], ['log', 'logs', 'thing'],
  ['apple', 'apples', 'food'], ['pear', 'pears', 'food'], ['cupcake', 'cupcakes', 'food'],
  ['cake', 'cakes', 'food'], ['carrot', 'carrots', 'food'], ['waffle', 'waffles', 'food'],
  ['snack', 'snacks', 'food'], ['meal', 'meals', 'food'], ['bread loaf', 'bread loaves', 'food'],
  ['cup of coffee', 'cups of coffee', 'food'], ['pi\u00f1ata', 'pi\u00f1atas', 'thing'],
  ['jalape\u00f1o', 'jalape\u00f1os', 'food'], ['cr\u00e8me br\u00fbl\u00e9e', 'cr\u00e8me br\u00fbl\u00e9es', 'food'],
  ['souffl\u00e9', 'souffl\u00e9s', 'food'], ['cr\u00eape', 'cr\u00eapes', 'food'],
  ['mushroom', 'mushrooms', 'plant'], ['tree', 'trees', 'plant'], ['flower', 'flowers', 'plant'],
  ['sunflower', 'sunflowers', 'plant'], ['rose', 'roses', 'plant'], ['plant', 'plants', 'plant'],
  ['cactus', 'cacti', 'plant'], ['bonsai tree', 'bonsai trees', 'plant'],
];
const NOUN = Object.fromEntries(NOUNS.map((n) => [n[0], n]));
const LIVING = NOUNS.filter((n) => n[2] === 'animal' || n[2] === 'person');

// Different things one letter apart: an object change must not pass as a typo.
const NEAR_NOUNS = [
  ['horse', 'house'], ['boat', 'goat'], ['boat', 'coat'], ['goat', 'coat'], ['mouse', 'moose'],
  ['bear', 'pear'], ['plane', 'plant'], ['lamp', 'lamb'], ['cat', 'car'], ['cat', 'hat'],
  ['cat', 'cap'], ['rat', 'hat'], ['bat', 'hat'], ['fox', 'box'], ['crow', 'cow'],
  ['crow', 'crown'], ['snake', 'snack'], ['shell', 'shelf'], ['bell', 'ball'], ['bull', 'ball'],
  ['sheep', 'ship'], ['snail', 'nail'], ['rose', 'hose'], ['seal', 'meal'], ['mug', 'rug'],
  ['pig', 'pug'], ['dog', 'log'], ['dog', 'frog'], ['fish', 'dish'], ['cake', 'lake'],
  ['parrot', 'carrot'], ['candle', 'handle'], ['chair', 'chain'], ['clock', 'cloak'],
  ['clown', 'crown'], ['train', 'tram'], ['bridge', 'fridge'], ['pen', 'pan'], ['tent', 'tens'],
  ['tower', 'power'], ['coat', 'cat'], ['wagon', 'dragon'], ['rabbit', 'robot'],
].filter(([x, y]) => NOUN[x] && NOUN[y]);

// Colour groups: a change across groups changes the colour.
const COLOUR_GROUPS = [
  ['red', 'crimson', 'scarlet'], ['blue', 'azure'], ['green', 'emerald'], ['yellow'],
  ['orange'], ['purple', 'violet'], ['pink'], ['white', 'ivory'], ['black'], ['brown'],
  ['gray', 'silver'], ['teal', 'turquoise'], ['golden'], ['beige'], ['lavender'], ['maroon'],
];
const COLOURS = COLOUR_GROUPS.flat();
const sameColour = (a, b) => COLOUR_GROUPS.some((g) => g.includes(a) && g.includes(b));
const SHADES = ['light', 'dark', 'pale', 'bright', 'deep'];

const SIZE_GROUPS = [['small', 'tiny', 'little'], ['large', 'huge', 'giant', 'big', 'enormous']];
const SIZES = SIZE_GROUPS.flat();
const sameSize = (a, b) => SIZE_GROUPS.some((g) => g.includes(a) && g.includes(b));

const ACTIONS = [
  'sleeping', 'sitting', 'standing', 'resting', 'waiting', 'walking', 'running', 'dancing',
  'reading a book', 'playing', 'smiling', 'jumping', 'swimming', 'singing', 'eating',
  'looking around', 'curled up', 'hiding',
];

const SETTINGS = [
  'in the snow', 'on a beach', 'in a forest', 'on a rooftop', 'in a field of sunflowers',
  'under a bridge', 'in a kitchen', 'on the moon', 'in a desert', 'by a lake',
  'in a city street', 'on a mountain top', 'in the rain', 'at sunset', 'at night',
  'in a library', 'in a garden', 'on a wooden boat', 'in a meadow', 'in a cave',
  'under the sea', 'in a snowy village', 'in a caf\u00e9', 'in a jungle', 'on a frozen lake',
  'in outer space', 'in a train station', 'on an old bridge', 'in a flower field',
  'on a cliff', 'in an office', 'by a fireplace', 'in a greenhouse', 'on a farm',
  'in a castle courtyard', 'at a night market', 'in a bamboo forest', 'on a sand dune',
  'in a coffee shop', 'near a waterfall', 'on a foggy pier', 'in an autumn park',
  'in a misty valley', 'in a cozy bedroom', 'at the harbor', 'in a candlelit hall',
];
const SETTING_SWAPS = SETTINGS;

const DIRECTIONS = [
  ['facing left', 'facing right'], ['looking up', 'looking down'],
  ['above the clouds', 'below the clouds'], ['flying north', 'flying south'],
  ['heading east', 'heading west'], ['on the left side of the road', 'on the right side of the road'],
  ['walking uphill', 'walking downhill'], ['in front of a house', 'behind a house'],
  ['inside a cage', 'outside a cage'], ['climbing up a ladder', 'climbing down a ladder'],
  ['turned to the left', 'turned to the right'], ['on top of a box', 'under a box'],
  ['moving forward', 'moving backward'], ['upside down', 'right side up'],
  ['at the top of the stairs', 'at the bottom of the stairs'], ['above a river', 'below a river'],
  ['looking left', 'looking right'], ['pointing up', 'pointing down'],
  ['going into a tunnel', 'coming out of a tunnel'], ['swimming upstream', 'swimming downstream'],
];

// Accessories that can carry a colour, be negated, or both.
const EXTRAS = [
  { noun: 'hat' }, { noun: 'scarf' }, { noun: 'balloon' }, { noun: 'glasses', plural: true },
  { noun: 'umbrella' }, { noun: 'backpack' }, { noun: 'boots', plural: true }, { noun: 'bow tie' },
  { noun: 'lantern' }, { noun: 'flowers', plural: true }, { noun: 'crown' }, { noun: 'necklace' },
];

const STYLES = [
  'watercolor painting', 'oil painting', 'pencil sketch', 'charcoal drawing', 'digital art',
  '3d render', 'photograph', 'anime illustration', 'pixel art', 'low poly art', 'line art',
  'ukiyo-e print', 'vector illustration', 'claymation', 'origami sculpture', 'stained glass',
  'comic book art', 'impressionist painting', 'art nouveau poster', 'polaroid photo',
  'isometric illustration', "children's book illustration", 'embroidery', 'mosaic',
  'graffiti mural', 'papercut art', 'blueprint', 'woodcut print', 'pastel drawing',
  'ink wash painting', 'cross-stitch pattern', 'tarot card', 'linocut', 'gouache painting',
];

// Order-free style tags: at most three words, none a verb or a determiner.
const TAGS = [
  '4k', '8k', 'highly detailed', 'sharp focus', 'trending on artstation', 'octane render',
  'masterpiece', 'best quality', 'cinematic lighting', 'volumetric light', 'bokeh',
  'soft shadows', 'dramatic lighting', 'ultra realistic', 'hdr', 'unreal engine',
  'intricate details', 'golden hour', 'film grain', 'depth of field', 'award winning',
  'concept art', 'matte painting', 'symmetrical', 'wide angle', 'studio lighting',
  'vibrant colors', 'muted tones', 'high contrast', 'photorealistic', 'soft focus',
  'rim light', 'moody', 'epic composition', 'fine art', 'artstation', 'sharp details',
  'natural light', 'cinematic', 'dreamy atmosphere', 'stunning', 'glowing', 'smooth',
];

const ARTISTS = [
  'Van Gogh', 'Monet', 'Manet', 'Rembrandt', 'Picasso', 'Hokusai', 'Klimt', 'Dal\u00ed',
  'Frida Kahlo', 'Edward Hopper', 'Vermeer', 'Caravaggio', 'Turner', 'Matisse', 'C\u00e9zanne',
  'Magritte', 'Warhol', 'Banksy', 'Mucha', 'Moebius', 'Greg Rutkowski', 'Norman Rockwell',
  'Hayao Miyazaki', 'Beatrix Potter', 'Tim Burton', 'Wes Anderson', 'Basquiat', 'Kandinsky',
  'Rothko', 'Botticelli', 'Goya', 'Bosch', 'Renoir', 'Degas', 'Seurat', 'Hiroshige',
];
const CITIES = [
  'Paris', 'London', 'Tokyo', 'Rome', 'New York', 'Venice', 'Kyoto', 'Berlin', 'Prague',
  'Istanbul', 'Cairo', 'Rio de Janeiro', 'Amsterdam', 'Barcelona', 'Lisbon', 'Moscow', 'Sydney',
  'Dubai', 'Seoul', 'Z\u00fcrich', 'S\u00e3o Paulo', 'Reykjav\u00edk', 'Havana', 'Marrakech',
  'Vienna', 'Budapest', 'Athens', 'Madrid', 'Oslo', 'Edinburgh', 'Bogot\u00e1', 'Krak\u00f3w',
  'Hong Kong', 'Singapore', 'Chicago', 'San Francisco', 'Mumbai', 'Bangkok', 'Hanoi',
];
const COUNTRIES = [
  'Iran', 'Iraq', 'Austria', 'Australia', 'Niger', 'Nigeria', 'Slovakia', 'Slovenia', 'Gambia',
  'Zambia', 'Sweden', 'Norway', 'Japan', 'Brazil', 'Peru', 'Chile', 'Kenya', 'Mexico',
  'Canada', 'Italy', 'Spain', 'Portugal', 'Greece', 'Egypt', 'India', 'China', 'Mongolia',
];
const NEAR_COUNTRIES = [
  ['Iran', 'Iraq'], ['Austria', 'Australia'], ['Niger', 'Nigeria'], ['Slovakia', 'Slovenia'],
  ['Gambia', 'Zambia'], ['Monet', 'Manet'],
];
const SHOE_BRANDS = ['Nike', 'Adidas', 'Puma', 'Reebok', 'Vans', 'Converse', 'New Balance', 'Asics'];
const CAR_BRANDS = [
  'Tesla', 'Ferrari', 'Porsche', 'Ford', 'Toyota', 'Volkswagen', 'BMW', 'Mercedes', 'Jeep',
  'Fiat', 'Volvo', 'Lamborghini', 'Honda', 'Mazda',
];
const DRINKS = ['Coca-Cola', 'Pepsi', 'Sprite', 'Fanta', 'Heineken', 'Guinness', 'Red Bull'];
const CHARACTERS = [
  'Batman', 'Superman', 'Spider-Man', 'Pikachu', 'Mario', 'Luigi', 'Sonic', 'Darth Vader',
  'Yoda', 'Shrek', 'Mickey Mouse', 'Sherlock Holmes', 'Harry Potter', 'Gandalf',
  'Wonder Woman', 'Iron Man', 'the Hulk', 'Elsa', 'Totoro', 'Godzilla', 'Pok\u00e9mon trainer Ash',
  'Winnie the Pooh', 'Snoopy', 'Garfield', 'Kermit the Frog', 'Homer Simpson',
];
const ENTITY_WORDS = new Set(
  [...ARTISTS, ...CITIES, ...COUNTRIES, ...SHOE_BRANDS, ...CAR_BRANDS, ...DRINKS, ...CHARACTERS]
    .flatMap((e) => e.toLowerCase().split(/[^\p{L}]+/u)),
);

const NUMBER_WORDS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'twelve'];
const NUMBER_VALUE = { two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, twelve: 12 };
const QUANTITY_WORDS = ['a few', 'several', 'many', 'a pair of', 'a group of', 'dozens of', 'hundreds of'];

const NEGATION_WORDS = new Set(['no', 'not', 'without', 'never', 'none', 'non']);
const SKIP_TYPO = new Set([
  ...Object.keys(NUMBER_VALUE), 'one', 'eleven', 'dozen', 'dozens', 'hundreds', 'several',
  'first', 'second', 'third', 'without', 'never', 'none',
]);

// ---------------------------------------------------------------- rendering

function article(next) {
  const w = next.toLowerCase();
  if (/^(uni|use|eu|one|ukiyo)/.test(w)) return 'a';
  if (/^(hour|honest)/.test(w)) return 'an';
  return /^[aeiou]/.test(w) ? 'an' : 'a';
}
const withArticle = (phrase) => `${article(phrase)} ${phrase}`;

function countText(scene) {
  if (scene.count === 1) return null;
  if (scene.quantity) return scene.quantity;
  if (scene.countDigits) return String(scene.count);
  return Object.keys(NUMBER_VALUE).find((w) => NUMBER_VALUE[w] === scene.count);
}

function subjectText(scene) {
  const noun = NOUN[scene.noun];
  const words = [];
  if (scene.size) words.push(scene.size);
  if (scene.colour) words.push(scene.shade ? `${scene.shade} ${scene.colour}` : scene.colour);
  words.push(scene.count === 1 ? noun[0] : noun[1]);
  const phrase = words.join(' ');
  if (scene.count === 1) return withArticle(phrase);
  if (scene.quantity === 'plural') return phrase;
  return `${countText(scene)} ${phrase}`;
}

function extraText(scene) {
  if (!scene.extra) return null;
  const extra = EXTRAS[scene.extra.index];
  const phrase = scene.extra.colour ? `${scene.extra.colour} ${extra.noun}` : extra.noun;
  const object = extra.plural ? phrase : withArticle(phrase);
  return `${scene.extra.negated ? 'without' : 'with'} ${object}`;
}

function render(scene) {
  const parts = [subjectText(scene)];
  if (scene.action) parts.push(scene.notAction ? `that is not ${scene.action}` : scene.action);
  if (scene.direction) parts.push(scene.direction);
  const extra = extraText(scene);
  if (extra) parts.push(extra);
  if (scene.setting) parts.push(scene.setting);
  if (scene.entity) parts.push(scene.entity);
  let text = parts.join(' ');
  if (scene.style && scene.stylePrefix) text = `${withArticle(scene.style)} of ${text}`;
  if (scene.style && !scene.stylePrefix) text = `${text}, ${scene.style}`;
  if (scene.tags.length) text = `${text}, ${scene.tags.join(', ')}`;
  if (scene.capital) text = text[0].toUpperCase() + text.slice(1);
  return text;
}

function makeScene(options = {}) {
  const noun = options.noun ?? pick(NOUNS)[0];
  const living = ['animal', 'person'].includes(NOUN[noun][2]);
  const person = NOUN[noun][2] === 'person' && noun !== 'robot';
  const direction = chance(0.1) ? pick(DIRECTIONS)[between(0, 1)] : null;
  const scene = {
    noun,
    count: chance(0.2) ? between(2, 6) : 1,
    countDigits: chance(0.3),
    quantity: null,
    size: chance(0.25) ? pick(SIZES) : null,
    colour: !person && chance(0.4) ? pick(COLOURS) : null,
    shade: null,
    action: living && !direction && chance(0.45) ? pick(ACTIONS) : null,
    notAction: false,
    direction,
    extra: living && chance(0.2)
      ? { index: between(0, EXTRAS.length - 1), colour: chance(0.5) ? pick(COLOURS) : null, negated: false }
      : null,
    setting: chance(0.9) ? pick(SETTINGS) : null,
    entity: null,
    style: chance(0.55) ? pick(STYLES) : null,
    stylePrefix: chance(0.3),
    tags: chance(0.35) ? sample(TAGS, between(2, 5)) : [],
    capital: chance(0.35),
  };
  if (scene.colour && chance(0.15)) scene.shade = pick(SHADES);
  return Object.assign(scene, options);
}
const clone = (scene) => structuredClone(scene);

// ---------------------------------------------------------------- merge variants

const KEYBOARD = {
  q: 'wa', w: 'qes', e: 'wrd', r: 'etf', t: 'ryg', y: 'tuh', u: 'yij', i: 'uok', o: 'ipl',
  p: 'ol', a: 'qsz', s: 'awdz', d: 'sefx', f: 'drgc', g: 'fthv', h: 'gyjb', j: 'hukn',
  k: 'jilm', l: 'kop', z: 'asx', x: 'zsdc', c: 'xdfv', v: 'cfgb', b: 'vghn', n: 'bhjm', m: 'njk',
};

function editOnce(word) {
  const i = between(1, word.length - 1);
  switch (pick(['swap', 'delete', 'double', 'substitute'])) {
    case 'swap':
      if (i >= word.length - 1) return word;
      return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
    case 'delete':
      return word.slice(0, i) + word.slice(i + 1);
    case 'double':
      return word.slice(0, i) + word[i] + word.slice(i);
    default: {
      const near = KEYBOARD[word[i]];
      if (!near) return word;
      return word.slice(0, i) + pick(near) + word.slice(i + 1);
    }
  }
}

// A misspelling of `word` that is no real word: one edit in a word of 4-7
// letters, one or two in a longer one; both spellings at least 4 letters.
function misspell(word) {
  for (let attempt = 0; attempt < 40; attempt++) {
    const edits = word.length >= 8 && chance(0.5) ? 2 : 1;
    let out = word;
    for (let e = 0; e < edits; e++) out = editOnce(out);
    const minLength = edits === 2 ? 8 : 4;
    if (out === word || out.length < minLength || isRealWord(out)) continue;
    return out;
  }
  return null;
}

function typoVariant(text) {
  const words = text.split(' ');
  const candidates = words
    .map((w, i) => [w, i])
    .filter(([w]) => /^[a-z]{4,}$/.test(w) && !ENTITY_WORDS.has(w) && !SKIP_TYPO.has(w) &&
      (dictionary.has(w) || !properNouns.has(w)));
  if (!candidates.length) return null;
  const count = candidates.length >= 6 && chance(0.25) ? 2 : 1;
  const out = words.slice();
  let changed = 0;
  for (const [w, i] of sample(candidates, count)) {
    const typo = misspell(w);
    if (typo) {
      out[i] = typo;
      changed++;
    }
  }
  return changed ? out.join(' ') : null;
}

function caseVariant(text) {
  switch (between(0, 5)) {
    case 0:
      return text.toLowerCase();
    case 1:
      return text.toUpperCase();
    case 2:
      return text.replace(/(^|\s)(\p{Ll})/gu, (m, s, c) => s + c.toUpperCase());
    case 3:
      return text[0] === text[0].toUpperCase()
        ? text[0].toLowerCase() + text.slice(1)
        : text[0].toUpperCase() + text.slice(1);
    case 4:
      return text
        .split(' ')
        .map((w) => (chance(0.3) ? w.toUpperCase() : w))
        .join(' ');
    default:
      return text
        .split(' ')
        .map((w) => (chance(0.4) && w ? w[0].toUpperCase() + w.slice(1) : w))
        .join(' ');
  }
}

function spacingVariant(text) {
  let out = text;
  const edits = between(1, 3);
  for (let e = 0; e < edits; e++) {
    switch (between(0, 5)) {
      case 0:
        out = out.replace(/ /g, () => (chance(0.3) ? '  ' : ' '));
        break;
      case 1:
        out = ' '.repeat(between(1, 3)) + out;
        break;
      case 2:
        out = out + ' '.repeat(between(1, 3));
        break;
      case 3:
        out = out.replace(/, /g, () => (chance(0.6) ? ',' : ', '));
        break;
      case 4:
        out = out.replace(/,/g, () => (chance(0.5) ? ' ,' : ','));
        break;
      default: {
        const words = out.split(' ');
        const i = between(0, Math.max(0, words.length - 2));
        words[i] = words[i] + ' '.repeat(between(1, 4));
        out = words.join(' ');
      }
    }
  }
  return out;
}

const FULLWIDTH = (c) =>
  /[!-~]/.test(c) && c !== ' ' ? String.fromCodePoint(c.codePointAt(0) - 0x21 + 0xff01) : c;

function unicodeVariant(text) {
  const applicable = [];
  if (/[\u00c0-\u024f]/.test(text)) applicable.push('decompose', 'decompose');
  if (/f[ifl]|ff/.test(text)) applicable.push('ligature', 'ligature');
  if (/'/.test(text)) applicable.push('apostrophe');
  applicable.push('fullwidth', 'fullwidth', 'spaces', 'spaces', 'invisible', 'quotes', 'ellipsis');
  let out = text;
  for (const kind of sample(applicable, between(1, 2))) {
    switch (kind) {
      case 'decompose':
        out = out.normalize('NFD');
        break;
      case 'ligature':
        out = out.replace(/ffi|ffl|ff|fi|fl/g, (m) =>
          chance(0.7) ? { ffi: '\ufb03', ffl: '\ufb04', ff: '\ufb00', fi: '\ufb01', fl: '\ufb02' }[m] : m);
        break;
      case 'apostrophe':
        out = out.replace(/'/g, '\u2019');
        break;
      case 'fullwidth': {
        const words = out.split(' ');
        const i = between(0, words.length - 1);
        words[i] = [...words[i]].map(FULLWIDTH).join('');
        out = words.join(' ');
        break;
      }
      case 'spaces':
        out = out.replace(/ /g, () => (chance(0.4) ? pick(['\u00a0', '\u2009', '\u3000', '\u202f', '\u2003']) : ' '));
        break;
      case 'invisible': {
        // Zero-width space or soft hyphen inside a word, or a BOM at the start.
        const words = out.split(' ');
        const i = between(0, words.length - 1);
        const w = words[i];
        if (w.length >= 3 && chance(0.7)) {
          const at = between(1, w.length - 1);
          words[i] = w.slice(0, at) + pick(['\u200b', '\u00ad', '\u200d', '\u2060']) + w.slice(at);
          out = words.join(' ');
        } else {
          out = '\ufeff' + out;
        }
        break;
      }
      case 'quotes':
        out = `\u201c${out}\u201d`;
        break;
      default:
        out = `${out}\u2026`;
    }
  }
  return out;
}

function punctuationVariant(text) {
  let out = text;
  const edits = between(1, 2);
  for (let e = 0; e < edits; e++) {
    switch (between(0, 8)) {
      case 0:
        out = out.replace(/[.!]+$/, '') + pick(['.', '!', '...', '!!', ' .']);
        break;
      case 1: {
        // A comma between two words of the first clause.
        const words = out.split(' ');
        const i = between(0, Math.max(0, words.length - 2));
        if (!words[i].endsWith(',')) words[i] += ',';
        out = words.join(' ');
        break;
      }
      case 2:
        out = out.replace(/, /g, () => pick([' - ', '; ', ' | ', ', ', ': ']));
        break;
      case 3: {
        const words = out.split(' ');
        const i = between(0, words.length - 1);
        words[i] = pick(['"', "'", '(', '[', '*']) + words[i];
        const j = between(i, words.length - 1);
        words[j] = words[j] + { '"': '"', "'": "'", '(': ')', '[': ']', '*': '*' }[words[i][0]];
        out = words.join(' ');
        break;
      }
      case 4: {
        const words = out.split(' ');
        const i = between(0, Math.max(0, words.length - 2));
        if (/^[\p{L}]+$/u.test(words[i]) && /^[\p{L}]+$/u.test(words[i + 1] ?? '')) {
          words.splice(i, 2, `${words[i]}-${words[i + 1]}`);
          out = words.join(' ');
        } else {
          out += '.';
        }
        break;
      }
      case 5:
        out = out.replace(/-/g, ' ');
        break;
      case 6:
        out = out.replace(/,/g, '');
        break;
      case 7:
        out = `${out}!!!`;
        break;
      default:
        out = out.replace(/ /, () => pick([': ', ' -- ', '... ', ', ']));
    }
  }
  return out;
}

// Drops articles or turns "a" into "the", never before a quantity ("a few").
function articleVariant(text) {
  const words = text.split(' ');
  const positions = words
    .map((w, i) => [w, i])
    .filter(([w, i]) => /^(a|an|the|A|An|The)$/.test(w) && i + 1 < words.length &&
      !/^(few|pair|group|couple|dozen|lot|bit|little)$/.test(words[i + 1]));
  if (!positions.length) return null;
  // Swaps turn "a" into "the" only: "the moon" and "a moon" may differ.
  const indefinite = positions.filter(([w]) => !/^the$/i.test(w));
  const mode = indefinite.length ? between(0, 2) : between(0, 1);
  const out = words.slice();
  const from = mode === 2 ? indefinite : positions;
  const chosen = mode === 0 ? from : sample(from, between(1, from.length));
  for (const [w, i] of chosen) {
    const capital = w[0] === w[0].toUpperCase();
    if (mode === 2) {
      out[i] = capital ? 'The' : 'the';
    } else {
      out[i] = null;
      if (capital && out[i + 1]) out[i + 1] = out[i + 1][0].toUpperCase() + out[i + 1].slice(1);
    }
  }
  return out.filter((w) => w !== null).join(' ');
}

// ---------------------------------------------------------------- not-merge changes

// A light change that keeps the meaning, so that a must-not pair is not
// also trivially different in spelling.
function noise(text) {
  if (!chance(0.4)) return text;
  switch (between(0, 4)) {
    case 0:
      return caseVariant(text);
    case 1:
      return punctuationVariant(text);
    case 2:
      return articleVariant(text) ?? text;
    case 3:
      return spacingVariant(text);
    default:
      return unicodeVariant(text);
  }
}

function colourPair() {
  const scene = makeScene();
  const b = clone(scene);
  const target = scene.extra && chance(0.3) ? 'extra' : 'subject';
  if (target === 'extra') {
    if (!scene.extra.colour) scene.extra.colour = pick(COLOURS);
    b.extra.colour = pickOther(COLOURS, scene.extra.colour, sameColour);
    return [scene, b];
  }
  const roll = rand();
  if (!scene.colour) scene.colour = pick(COLOURS);
  if (roll < 0.7) {
    b.colour = pickOther(COLOURS, scene.colour, sameColour);
    b.shade = scene.shade;
  } else if (roll < 0.85) {
    b.colour = scene.colour;
    scene.shade = pick(['light', 'pale']);
    b.shade = pick(['dark', 'deep']);
  } else {
    b.colour = null;  // a colour against none
    b.shade = null;
  }
  return chance(0.5) ? [scene, b] : [b, scene];
}

function numberPair() {
  const roll = rand();
  if (roll < 0.12) {
    // Decimals: 3.5 and 35 are different numbers.
    const [whole, tenth] = [between(1, 9), between(1, 9)];
    const unit = pick(['meter tall', 'foot tall', 'liter', 'kilogram', 'inch']);
    const thing = pick(['robot', 'statue', 'bottle', 'cake', 'sunflower', 'snowman', 'teapot']);
    const a = `a ${whole}.${tenth} ${unit} ${thing}`;
    const b = chance(0.5) ? `a ${whole}${tenth} ${unit} ${thing}` : `a ${whole}.${(tenth % 9) + 1} ${unit} ${thing}`;
    const setting = chance(0.6) ? ` ${pick(SETTINGS)}` : '';
    return [a + setting, b + setting];
  }
  if (roll < 0.2) {
    // 4k / 8k and other resolutions in the tags.
    const scene = makeScene({ tags: sample(TAGS.filter((t) => !/\dk$/.test(t)), between(1, 3)) });
    const [x, y] = shuffle(['4k', '8k', '16k', '1080p', '720p']).slice(0, 2);
    const a = clone(scene);
    a.tags = shuffle([...scene.tags, x]);
    const b = clone(a);
    b.tags = a.tags.map((t) => (t === x ? y : t));
    return [a, b];
  }
  // A noun whose plural differs: "sheep" against "a sheep" says nothing.
  const scene = makeScene({ noun: pick(NOUNS.filter((n) => n[0] !== n[1]))[0] });
  const b = clone(scene);
  if (roll < 0.45) {
    // One against several.
    scene.count = 1;
    b.count = between(2, 6);
    b.quantity = chance(0.25) ? pick(QUANTITY_WORDS) : null;
  } else if (roll < 0.55) {
    // Singular against plural, no number word.
    scene.count = 1;
    b.count = 2;
    b.quantity = 'plural';
  } else if (roll < 0.85) {
    scene.count = between(2, 12);
    if (!NUMBER_WORDS.some((w) => NUMBER_VALUE[w] === scene.count)) scene.count = 3;
    b.count = pickOther(NUMBER_WORDS.map((w) => NUMBER_VALUE[w]), scene.count);
    b.countDigits = chance(0.5) ? scene.countDigits : !scene.countDigits;
    scene.quantity = null;
    b.quantity = null;
  } else {
    scene.count = 2;
    scene.quantity = pick(QUANTITY_WORDS);
    b.count = 2;
    b.quantity = pickOther(QUANTITY_WORDS, scene.quantity);
  }
  return chance(0.5) ? [scene, b] : [b, scene];
}

function negationPair() {
  const roll = rand();
  if (roll < 0.4) {
    const scene = makeScene({ noun: pick(LIVING)[0] });
    scene.extra = { index: between(0, EXTRAS.length - 1), colour: null, negated: false };
    const b = clone(scene);
    b.extra.negated = true;
    return chance(0.5) ? [scene, b] : [b, scene];
  }
  if (roll < 0.6) {
    const scene = makeScene({ noun: pick(LIVING)[0], action: pick(ACTIONS.filter((a) => !a.includes(' '))) });
    const b = clone(scene);
    b.notAction = true;
    return chance(0.5) ? [scene, b] : [b, scene];
  }
  if (roll < 0.8) {
    // A negative tag: "no people", "no text".
    const scene = makeScene({ tags: sample(TAGS, between(1, 3)) });
    const thing = pick(['people', 'text', 'clouds', 'cars', 'trees', 'snow', 'buildings', 'animals', 'water', 'shadows']);
    const a = clone(scene);
    a.tags = [...scene.tags, `no ${thing}`];
    const b = clone(scene);
    b.tags = [...scene.tags, chance(0.5) ? thing : `with ${thing}`];
    return chance(0.5) ? [a, b] : [b, a];
  }
  const templates = [
    ['a street with no cars', 'a street with cars'],
    ['a beach without people', 'a beach with people'],
    ['a tree without leaves', 'a tree with leaves'],
    ['a room with no windows', 'a room with windows'],
    ['a non-alcoholic cocktail', 'an alcoholic cocktail'],
    ['a sign that says do not enter', 'a sign that says enter'],
    ["a sign that says don't walk", 'a sign that says walk'],
    ['a man who is not smiling', 'a man who is smiling'],
    ['a house that never sleeps', 'a house that sleeps'],
    ['a cake with no candles', 'a cake with candles'],
    ['a sky with no stars', 'a sky with stars'],
    ['a clock without hands', 'a clock with hands'],
    ['a forest with no path', 'a forest with a path'],
    ['a guitar without strings', 'a guitar with strings'],
    ['a bottle that is not empty', 'a bottle that is empty'],
    ['a face without a mask', 'a face with a mask'],
    ['a non-smoking area', 'a smoking area'],
    ['a cup of coffee without milk', 'a cup of coffee with milk'],
    ['a dog that is not wet', 'a dog that is wet'],
    ['a bicycle with no wheels', 'a bicycle with wheels'],
  ];
  const [x, y] = pick(templates);
  const suffix = chance(0.5) ? ` ${pick(SETTINGS)}` : '';
  const tail = chance(0.5) ? `, ${pick(STYLES)}` : '';
  return chance(0.5) ? [x + suffix + tail, y + suffix + tail] : [y + suffix + tail, x + suffix + tail];
}

function objectPair() {
  const roll = rand();
  if (roll < 0.4) {
    const [x, y] = shuffle(pick(NEAR_NOUNS));
    const scene = makeScene({ noun: x });
    if (!['animal', 'person'].includes(NOUN[y][2])) {
      scene.action = null;
      scene.extra = null;
    }
    if (!['animal', 'person'].includes(NOUN[x][2])) {
      scene.action = null;
      scene.extra = null;
    }
    const b = clone(scene);
    b.noun = y;
    return [scene, b];
  }
  const scene = makeScene();
  const b = clone(scene);
  if (roll < 0.75) {
    const kind = NOUN[scene.noun][2];
    const same = NOUNS.filter((n) => n[2] === kind && n[0] !== scene.noun);
    b.noun = pick(same)[0];
    if (b.count > 1 && NOUN[b.noun][1] === NOUN[b.noun][0]) b.count = scene.count;
  } else if (roll < 0.9) {
    if (!scene.setting) scene.setting = pick(SETTINGS);
    b.setting = pickOther(SETTING_SWAPS, scene.setting);
  } else {
    b.setting = `${scene.setting ?? ''} with ${withArticle(pick(NOUNS.filter((n) => !n[0].includes(' ')))[0])}`.trim();
  }
  return chance(0.5) ? [scene, b] : [b, scene];
}

const ROLE_RELATIONS = [
  'chasing', 'watching', 'following', 'feeding', 'carrying', 'biting', 'pushing', 'pulling',
  'riding', 'painting a portrait of', 'photographing', 'teaching', 'hunting', 'attacking',
  'tickling', 'scaring', 'licking', 'holding', 'lifting', 'drawing', 'rescuing', 'looking at',
  'staring at', 'sitting on', 'standing on', 'hiding behind', 'jumping over', 'sleeping on',
  'lying under', 'bigger than', 'taller than', 'smaller than', 'on top of', 'inside',
  'afraid of', 'chased by', 'carried by', 'taller than', 'in front of', 'above', 'below',
  'stepping on', 'sniffing', 'grooming', 'guarding', 'pointing at', 'waving at',
];

function rolePair() {
  const [x, y] = sample(LIVING, 2).map((n) => n[0]);
  const relation = pick(ROLE_RELATIONS);
  const adjX = chance(0.3) ? `${pick([...COLOURS, ...SIZES])} ` : '';
  const adjY = chance(0.3) ? `${pick([...COLOURS, ...SIZES])} ` : '';
  const setting = chance(0.6) ? ` ${pick(SETTINGS)}` : '';
  const style = chance(0.4) ? `, ${pick(STYLES)}` : '';
  const tags = chance(0.3) ? `, ${sample(TAGS, between(2, 4)).join(', ')}` : '';
  const nx = withArticle(adjX + x);
  const ny = withArticle(adjY + y);
  const a = `${nx} ${relation} ${ny}${setting}${style}${tags}`;
  const b = `${ny} ${relation} ${nx}${setting}${style}${tags}`;
  return [a, b];
}

function stylePair() {
  const scene = makeScene({ style: pick(STYLES) });
  const b = clone(scene);
  if (chance(0.85)) {
    b.style = pickOther(STYLES, scene.style);
  } else {
    b.style = null;
  }
  return chance(0.5) ? [scene, b] : [b, scene];
}

function sizePair() {
  const scene = makeScene();
  const b = clone(scene);
  if (!scene.size) scene.size = pick(SIZES);
  if (chance(0.8)) {
    b.size = pickOther(SIZES, scene.size, sameSize);
  } else {
    b.size = null;
  }
  if (chance(0.15)) {
    // tall / short and wide / narrow as attributes of buildings and people.
    const [x, y] = shuffle(pick([['tall', 'short'], ['wide', 'narrow'], ['thick', 'thin'], ['long', 'short']]));
    scene.size = x;
    b.size = y;
  }
  return chance(0.5) ? [scene, b] : [b, scene];
}

function directionPair() {
  const pair = pick(DIRECTIONS);
  const scene = makeScene({ action: null });
  const b = clone(scene);
  scene.direction = pair[0];
  b.direction = chance(0.85) ? pair[1] : null;
  return chance(0.5) ? [scene, b] : [b, scene];
}

function entityPair() {
  const roll = rand();
  const near = chance(0.15) ? pick(NEAR_COUNTRIES) : null;
  if (roll < 0.3) {
    const [x, y] = near && ARTISTS.includes(near[0]) ? shuffle(near) : sample(ARTISTS, 2);
    const scene = makeScene({ style: chance(0.5) ? pick(STYLES) : null, stylePrefix: false, tags: [] });
    const form = pick(['in the style of', 'art by', 'by', 'painted by', 'inspired by']);
    const a = clone(scene);
    a.entity = `${form} ${x}`;
    const b = clone(scene);
    b.entity = `${form} ${y}`;
    return [a, b];
  }
  if (roll < 0.55) {
    const [x, y] = sample(CITIES, 2);
    const thing = withArticle(pick(NOUNS)[0]);
    const style = pick(STYLES);
    const tags = sample(TAGS, 2).join(', ');
    const template = pick([
      (c) => `a street in ${c} at night`, (c) => `the skyline of ${c} at sunset`,
      (c) => `a rainy evening in ${c}`, (c) => `a postcard from ${c}`,
      (c) => `${thing} in ${c}`, (c) => `a caf\u00e9 in ${c}, ${style}`,
      (c) => `a map of ${c}`, (c) => `the old town of ${c}, ${tags}`,
    ]);
    return [template(x), template(y)];
  }
  if (roll < 0.7) {
    const [x, y] = near && COUNTRIES.includes(near[0]) ? shuffle(near) : sample(COUNTRIES, 2);
    const template = pick([
      (c) => `the flag of ${c}`, (c) => `a map of ${c}`, (c) => `a landscape in ${c}`,
      (c) => `a traditional house in ${c}`, (c) => `a stamp from ${c}, vintage`,
      (c) => `the coastline of ${c} seen from above`,
    ]);
    return [template(x), template(y)];
  }
  if (roll < 0.85) {
    const kind = pick(['shoe', 'car', 'drink']);
    if (kind === 'shoe') {
      const [x, y] = sample(SHOE_BRANDS, 2);
      const colour = chance(0.5) ? `${pick(COLOURS)} ` : '';
      const setting = chance(0.5) ? 'on a white background' : 'on a wooden table';
      return [`${withArticle(colour + x)} sneaker ${setting}`, `${withArticle(colour + y)} sneaker ${setting}`];
    }
    if (kind === 'car') {
      const [x, y] = sample(CAR_BRANDS, 2);
      const setting = pick(SETTINGS);
      return [`${withArticle(x)} car parked ${setting}`, `${withArticle(y)} car parked ${setting}`];
    }
    const [x, y] = sample(DRINKS, 2);
    const setting = pick(['on a beach', 'in a fridge', 'on a bar counter', 'in the snow']);
    return [`a can of ${x} ${setting}`, `a can of ${y} ${setting}`];
  }
  const [x, y] = sample(CHARACTERS, 2);
  const rest = `${pick(ACTIONS)} ${pick(SETTINGS)}${chance(0.5) ? `, ${pick(STYLES)}` : ''}`;
  return [`${x} ${rest}`, `${y} ${rest}`];
}

// ---------------------------------------------------------------- merge pairs

function variantPair(variant, sceneOptions = {}) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const text = render(makeScene(sceneOptions));
    const out = variant(text);
    if (out && out !== text) return [text, out];
  }
  throw new Error(`no variant after 50 attempts: ${variant.name}`);
}

function tagOrderPair() {
  for (let attempt = 0; attempt < 50; attempt++) {
    let text;
    let tags;
    if (chance(0.35)) {
      // The whole prompt is tags.
      const subject = `${pick(COLOURS)} ${pick(NOUNS.filter((n) => !n[0].includes(' ')))[0]}`;
      tags = [subject, ...sample(TAGS, between(2, 5))];
      if (chance(0.5)) tags.push(pick(STYLES.filter((s) => s.split(' ').length <= 3 && !/'/.test(s))));
      text = null;
    } else {
      const scene = makeScene({ tags: sample(TAGS, between(3, 6)), style: null });
      text = render({ ...scene, tags: [] });
      tags = scene.tags;
    }
    const shuffled = shuffle(tags);
    if (shuffled.join() === tags.join()) continue;
    const separator = pick([', ', ', ', ', ', ',', '; ', ' | ']);
    const a = text ? `${text}, ${tags.join(', ')}` : tags.join(', ');
    const b = text ? `${text}${separator}${shuffled.join(separator)}` : shuffled.join(separator);
    return [a, b];
  }
  throw new Error('no tag order pair');
}

// ---------------------------------------------------------------- assembly

const CATEGORIES = [
  ['case', 1, () => variantPair(caseVariant)],
  ['spacing', 1, () => variantPair(spacingVariant)],
  ['unicode', 1, () => variantPair(unicodeVariant)],
  ['punctuation', 1, () => variantPair(punctuationVariant)],
  ['typo', 1, () => variantPair(typoVariant)],
  ['tag_order', 1, tagOrderPair],
  ['article', 1, () => variantPair(articleVariant, { count: 1, quantity: null })],
  ['colour', 0, colourPair],
  ['number', 0, numberPair],
  ['negation', 0, negationPair],
  ['object', 0, objectPair],
  ['role', 0, rolePair],
  ['style', 0, stylePair],
  ['size', 0, sizePair],
  ['direction', 0, directionPair],
  ['entity', 0, entityPair],
];

const rows = ['category\tlabel\tprompt_a\tprompt_b'];
const seen = new Set();
for (const [category, label, generate] of CATEGORIES) {
  let made = 0;
  let attempts = 0;
  while (made < PER_CATEGORY) {
    if (++attempts > PER_CATEGORY * 50) throw new Error(`${category}: too many duplicates`);
    let [a, b] = generate();
    if (typeof a !== 'string') a = render(a);
    if (typeof b !== 'string') b = render(b);
    if (label === 0) b = noise(b);
    if (a === b || /[\t\r\n]/.test(a + b)) continue;
    const key = `${a}\t${b}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push(`${category}\t${label}\t${a}\t${b}`);
    made++;
  }
}
writeFileSync(OUT, rows.join('\n') + '\n');
process.stderr.write(`wrote ${rows.length - 1} pairs to ${OUT}\n`);
