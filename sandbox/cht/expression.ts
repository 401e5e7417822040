/**
 * A small evaluator for the JavaScript expressions of outbound `relevant_to` and mapping `expr`
 * (CHT runs them with vm.runInNewContext). It covers literals, `doc` paths (`.`, `[]`, `?.`),
 * array and object literals, unary, arithmetic, comparison and logical operators, the ternary,
 * method calls on values (`'cht/'.concat(doc._id)`, `x.toFixed(2)`) and a few safe globals, without
 * eval: prototype and constructor properties are out of reach.
 */

type Node =
  | { kind: 'literal'; value: unknown }
  | { kind: 'identifier'; name: string }
  | { kind: 'member'; object: Node; property: Node; optional: boolean }
  | { kind: 'call'; callee: Node; args: Node[]; optional: boolean }
  | { kind: 'unary'; operator: string; operand: Node }
  | { kind: 'binary'; operator: string; left: Node; right: Node }
  | { kind: 'conditional'; test: Node; consequent: Node; alternate: Node }
  | { kind: 'array'; elements: Node[] }
  | { kind: 'object'; entries: Array<[string, Node]> };

interface Token {
  type: 'number' | 'string' | 'name' | 'punct' | 'end';
  value: string;
  position: number;
}

export class ExpressionError extends Error {}

const PUNCTUATORS = ['===', '!==', '?.', '??', '==', '!=', '<=', '>=', '&&', '||', '(', ')', '[', ']', '{', '}', ',', '.', '?', ':', '!', '+', '-', '*', '/', '%', '<', '>'];

const BLOCKED_PROPERTIES = new Set(['constructor', '__proto__', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

const GLOBALS: Record<string, unknown> = {
  undefined,
  NaN,
  Infinity,
  Number,
  String,
  Boolean,
  parseInt,
  parseFloat,
  isNaN,
  Math,
  JSON: { stringify: JSON.stringify, parse: JSON.parse },
  Array: { isArray: Array.isArray },
  Object: { keys: Object.keys, values: Object.values },
};

const BINARY_PRECEDENCE: Record<string, number> = {
  '??': 1, '||': 2, '&&': 3,
  '==': 4, '!=': 4, '===': 4, '!==': 4,
  '<': 5, '>': 5, '<=': 5, '>=': 5,
  '+': 6, '-': 6,
  '*': 7, '/': 7, '%': 7,
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(char) || (char === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const match = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'number', value: match[0], position: start });
      i += match[0].length;
      continue;
    }
    if (char === '"' || char === "'") {
      let value = '';
      i += 1;
      while (i < source.length && source[i] !== char) {
        if (source[i] === '\\') {
          const escaped = source[i + 1];
          value += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' } as Record<string, string>)[escaped] ?? escaped;
          i += 2;
        } else {
          value += source[i];
          i += 1;
        }
      }
      if (source[i] !== char) throw new ExpressionError(`unterminated string at ${start}`);
      i += 1;
      tokens.push({ type: 'string', value, position: start });
      continue;
    }
    if (/[A-Za-z_$]/.test(char)) {
      const match = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'name', value: match[0], position: start });
      i += match[0].length;
      continue;
    }
    const punct = PUNCTUATORS.find((candidate) => source.startsWith(candidate, i));
    if (!punct) throw new ExpressionError(`unexpected character '${char}' at ${i}`);
    // `a?.5:1` is a ternary, not optional chaining.
    if (punct === '?.' && /[0-9]/.test(source[i + 2] ?? '')) {
      tokens.push({ type: 'punct', value: '?', position: start });
      i += 1;
      continue;
    }
    tokens.push({ type: 'punct', value: punct, position: start });
    i += punct.length;
  }
  tokens.push({ type: 'end', value: '', position: source.length });
  return tokens;
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.expression();
    if (this.peek().type !== 'end') this.fail('end of expression');
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    return this.tokens[this.index++];
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token.type === 'punct' && token.value === value;
  }

  private expect(value: string): void {
    if (!this.isPunct(value)) this.fail(`'${value}'`);
    this.index += 1;
  }

  private fail(expected: string): never {
    const token = this.peek();
    throw new ExpressionError(`expected ${expected} at ${token.position}, found '${token.value || 'end'}'`);
  }

  private expression(): Node {
    const test = this.binary(0);
    if (!this.isPunct('?')) return test;
    this.index += 1;
    const consequent = this.expression();
    this.expect(':');
    return { kind: 'conditional', test, consequent, alternate: this.expression() };
  }

  private binary(minPrecedence: number): Node {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      const precedence = token.type === 'punct' ? BINARY_PRECEDENCE[token.value] : undefined;
      if (precedence === undefined || precedence <= minPrecedence) return left;
      this.index += 1;
      left = { kind: 'binary', operator: token.value, left, right: this.binary(precedence) };
    }
  }

  private unary(): Node {
    const token = this.peek();
    if (token.type === 'punct' && ['!', '-', '+'].includes(token.value)) {
      this.index += 1;
      return { kind: 'unary', operator: token.value, operand: this.unary() };
    }
    if (token.type === 'name' && token.value === 'typeof') {
      this.index += 1;
      return { kind: 'unary', operator: 'typeof', operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(start: Node): Node {
    let node = start;
    for (;;) {
      if (this.isPunct('.') || this.isPunct('?.')) {
        const optional = this.next().value === '?.';
        if (optional && this.isPunct('(')) {
          node = { kind: 'call', callee: node, args: this.arguments(), optional: true };
          continue;
        }
        if (optional && this.isPunct('[')) {
          this.index += 1;
          const property = this.expression();
          this.expect(']');
          node = { kind: 'member', object: node, property, optional: true };
          continue;
        }
        const name = this.next();
        if (name.type !== 'name') this.fail('a property name');
        node = { kind: 'member', object: node, property: { kind: 'literal', value: name.value }, optional };
      } else if (this.isPunct('[')) {
        this.index += 1;
        const property = this.expression();
        this.expect(']');
        node = { kind: 'member', object: node, property, optional: false };
      } else if (this.isPunct('(')) {
        node = { kind: 'call', callee: node, args: this.arguments(), optional: false };
      } else {
        return node;
      }
    }
  }

  private arguments(): Node[] {
    this.expect('(');
    const args: Node[] = [];
    while (!this.isPunct(')')) {
      args.push(this.expression());
      if (!this.isPunct(')')) this.expect(',');
    }
    this.index += 1;
    return args;
  }

  private primary(): Node {
    const token = this.next();
    if (token.type === 'number') return { kind: 'literal', value: Number(token.value) };
    if (token.type === 'string') return { kind: 'literal', value: token.value };
    if (token.type === 'name') {
      if (token.value === 'true') return { kind: 'literal', value: true };
      if (token.value === 'false') return { kind: 'literal', value: false };
      if (token.value === 'null') return { kind: 'literal', value: null };
      return { kind: 'identifier', name: token.value };
    }
    if (token.type === 'punct' && token.value === '(') {
      const inner = this.expression();
      this.expect(')');
      return inner;
    }
    if (token.type === 'punct' && token.value === '[') {
      const elements: Node[] = [];
      while (!this.isPunct(']')) {
        elements.push(this.expression());
        if (!this.isPunct(']')) this.expect(',');
      }
      this.index += 1;
      return { kind: 'array', elements };
    }
    if (token.type === 'punct' && token.value === '{') {
      const entries: Array<[string, Node]> = [];
      while (!this.isPunct('}')) {
        const key = this.next();
        if (key.type !== 'name' && key.type !== 'string' && key.type !== 'number') this.fail('a property key');
        this.expect(':');
        entries.push([key.value, this.expression()]);
        if (!this.isPunct('}')) this.expect(',');
      }
      this.index += 1;
      return { kind: 'object', entries };
    }
    this.index -= 1;
    return this.fail('a value');
  }
}

/** Marks a short-circuited optional chain, so `a?.b.c` yields undefined as a whole. */
const SHORT_CIRCUIT = Symbol('short-circuit');

function readProperty(object: unknown, key: unknown): unknown {
  const name = String(key);
  if (BLOCKED_PROPERTIES.has(name)) throw new ExpressionError(`property '${name}' is not available`);
  if (object === null || object === undefined) throw new TypeError(`Cannot read properties of ${object} (reading '${name}')`);
  const value = (object as Record<string, unknown>)[name];
  // Own data of doc objects, or built-in methods and lengths of strings, numbers and arrays.
  return value;
}

function evaluate(node: Node, scope: Record<string, unknown>): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'identifier':
      if (Object.prototype.hasOwnProperty.call(scope, node.name)) return scope[node.name];
      if (Object.prototype.hasOwnProperty.call(GLOBALS, node.name)) return GLOBALS[node.name];
      throw new ReferenceError(`${node.name} is not defined`);
    case 'member': {
      const object = evaluate(node.object, scope);
      if (object === SHORT_CIRCUIT) return SHORT_CIRCUIT;
      if (node.optional && (object === null || object === undefined)) return SHORT_CIRCUIT;
      return readProperty(object, evaluate(node.property, scope));
    }
    case 'call': {
      let receiver: unknown;
      let fn: unknown;
      if (node.callee.kind === 'member') {
        receiver = evaluate(node.callee.object, scope);
        if (receiver === SHORT_CIRCUIT) return SHORT_CIRCUIT;
        if (node.callee.optional && (receiver === null || receiver === undefined)) return SHORT_CIRCUIT;
        fn = readProperty(receiver, evaluate(node.callee.property, scope));
      } else {
        fn = evaluate(node.callee, scope);
      }
      if (fn === SHORT_CIRCUIT) return SHORT_CIRCUIT;
      if (node.optional && (fn === null || fn === undefined)) return SHORT_CIRCUIT;
      if (typeof fn !== 'function') throw new TypeError('not a function');
      if (fn === Function || fn === Function.prototype.call || fn === Function.prototype.apply || fn === Function.prototype.bind) {
        throw new ExpressionError('calling functions indirectly is not available');
      }
      const args = node.args.map((arg) => finish(evaluate(arg, scope)));
      return (fn as (...values: unknown[]) => unknown).apply(receiver, args);
    }
    case 'unary': {
      const operand = finish(evaluate(node.operand, scope));
      if (node.operator === '!') return !operand;
      if (node.operator === '-') return -(operand as number);
      if (node.operator === '+') return +(operand as number);
      return typeof operand;
    }
    case 'binary':
      return binary(node.operator, node.left, node.right, scope);
    case 'conditional':
      return finish(evaluate(node.test, scope)) ? evaluate(node.consequent, scope) : evaluate(node.alternate, scope);
    case 'array':
      return node.elements.map((element) => finish(evaluate(element, scope)));
    case 'object': {
      const result: Record<string, unknown> = {};
      for (const [key, value] of node.entries) {
        if (BLOCKED_PROPERTIES.has(key)) throw new ExpressionError(`property '${key}' is not available`);
        result[key] = finish(evaluate(value, scope));
      }
      return result;
    }
  }
}

function finish(value: unknown): unknown {
  return value === SHORT_CIRCUIT ? undefined : value;
}

function binary(operator: string, leftNode: Node, rightNode: Node, scope: Record<string, unknown>): unknown {
  const left = finish(evaluate(leftNode, scope));
  if (operator === '&&') return left ? finish(evaluate(rightNode, scope)) : left;
  if (operator === '||') return left ? left : finish(evaluate(rightNode, scope));
  if (operator === '??') return left ?? finish(evaluate(rightNode, scope));
  const right = finish(evaluate(rightNode, scope)) as any;
  const l = left as any;
  switch (operator) {
    case '===': return l === right;
    case '!==': return l !== right;
    case '==': return l == right;
    case '!=': return l != right;
    case '<': return l < right;
    case '>': return l > right;
    case '<=': return l <= right;
    case '>=': return l >= right;
    case '+': return l + right;
    case '-': return l - right;
    case '*': return l * right;
    case '/': return l / right;
    case '%': return l % right;
    default: throw new ExpressionError(`unknown operator ${operator}`);
  }
}

const parsed = new Map<string, Node>();

/** Evaluates `source` with `doc` (and any other names in `scope`) bound; throws like the JS would. */
export function evaluateExpression(source: string, scope: Record<string, unknown>): unknown {
  let tree = parsed.get(source);
  if (!tree) {
    tree = new Parser(tokenize(source)).parse();
    parsed.set(source, tree);
  }
  return finish(evaluate(tree, scope));
}
