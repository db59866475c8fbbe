/**
 * OTTL's grammar (pkg/ottl LANGUAGE.md): statements `editor(args) where condition` and bare conditions,
 * parsed with chevrotain into the small AST below. Chevrotain gives us the lexer, LL(k) lookahead and
 * error recovery information (the token at fault and what the rule expected) without a hand-written
 * parser; the error messages are ours: `column N: expected X, found Y`.
 */
import { NOT_SUPPORTED_YET } from '../core/schema.js';
import { createToken, EmbeddedActionsParser, Lexer, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';

// ---------------------------------------------------------------------------------------------------
// AST

export type KeyExpr = { k: 'string'; v: string } | { k: 'int'; v: number };

export type Expr =
  | { k: 'string'; v: string; col: number }
  | { k: 'int'; v: bigint; col: number }
  | { k: 'float'; v: number; col: number }
  | { k: 'bytes'; v: Uint8Array; col: number }
  | { k: 'bool'; v: boolean; col: number }
  | { k: 'nil'; col: number }
  /** An upper-case name without arguments: an enum (SPAN_KIND_SERVER) or a function name given as an argument (SHA256). */
  | { k: 'enum'; name: string; col: number }
  /** `a.b.c["k"][0]`: names before the first key, then keys. */
  | { k: 'path'; names: string[]; keys: KeyExpr[]; col: number }
  | { k: 'call'; name: string; args: Arg[]; keys: KeyExpr[]; col: number }
  | { k: 'list'; items: Expr[]; col: number }
  | { k: 'map'; entries: [string, Expr][]; col: number }
  /** A math expression `l op r` (LANGUAGE.md, Math Expressions); col is the operator's. */
  | { k: 'math'; op: MathOp; l: Expr; r: Expr; col: number };

export type MathOp = '+' | '-' | '*' | '/';

export type BoolExpr =
  | { k: 'or'; l: BoolExpr; r: BoolExpr }
  | { k: 'and'; l: BoolExpr; r: BoolExpr }
  | { k: 'not'; e: BoolExpr }
  | { k: 'cmp'; op: CompareOp; l: Expr; r: Expr; col: number }
  /** A value used as a condition: true/false, a path or a converter call that yields a bool. */
  | { k: 'value'; e: Expr };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface Arg {
  name: string | undefined;
  value: Expr;
}

export interface StatementAst {
  editor: { name: string; args: Arg[]; col: number };
  where: BoolExpr | undefined;
}

// ---------------------------------------------------------------------------------------------------
// Tokens

const LowerIdent = createToken({ name: 'LowerIdent', pattern: /[a-z_][a-zA-Z0-9_]*/, label: 'a name' });
const UpperIdent = createToken({ name: 'UpperIdent', pattern: /[A-Z][a-zA-Z0-9_]*/, label: 'a converter or enum name' });
const kw = (name: string, word: string) => createToken({ name, pattern: new RegExp(word), longer_alt: LowerIdent, label: `"${word}"` });
const Where = kw('Where', 'where');
const And = kw('And', 'and');
const Or = kw('Or', 'or');
const Not = kw('Not', 'not');
const Nil = kw('Nil', 'nil');
const True = kw('True', 'true');
const False = kw('False', 'false');
const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\]|\\.)*"/, label: 'a string' });
const BytesLit = createToken({ name: 'BytesLit', pattern: /0x[0-9a-fA-F]+/, label: 'a bytes literal' });
const FloatLit = createToken({ name: 'FloatLit', pattern: /[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?/, label: 'a number' });
const IntLit = createToken({ name: 'IntLit', pattern: /[-+]?\d+/, label: 'a number' });
const CompOp = createToken({ name: 'CompOp', pattern: /==|!=|<=|>=|<|>/, label: 'a comparison (==, !=, <, <=, >, >=)' });
// After the number tokens: `1 - 2` has an operator, `-2` is a number (`x -1` is then two values, as in
// the collector's lexer).
const AddSub = createToken({ name: 'AddSub', pattern: /[-+]/, label: 'an operator (+, -)' });
const MulDiv = createToken({ name: 'MulDiv', pattern: /[*/]/, label: 'an operator (*, /)' });
const Assign = createToken({ name: 'Assign', pattern: /=/, label: '"="' });
const LParen = createToken({ name: 'LParen', pattern: /\(/, label: '"("' });
const RParen = createToken({ name: 'RParen', pattern: /\)/, label: '")"' });
const LBracket = createToken({ name: 'LBracket', pattern: /\[/, label: '"["' });
const RBracket = createToken({ name: 'RBracket', pattern: /]/, label: '"]"' });
const LBrace = createToken({ name: 'LBrace', pattern: /\{/, label: '"{"' });
const RBrace = createToken({ name: 'RBrace', pattern: /}/, label: '"}"' });
const Comma = createToken({ name: 'Comma', pattern: /,/, label: '","' });
const Colon = createToken({ name: 'Colon', pattern: /:/, label: '":"' });
const Dot = createToken({ name: 'Dot', pattern: /\./, label: '"."' });
const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED });

const ALL_TOKENS: TokenType[] = [
  WhiteSpace,
  StringLit,
  BytesLit,
  FloatLit,
  IntLit,
  AddSub,
  MulDiv,
  CompOp,
  Assign,
  Where,
  And,
  Or,
  Not,
  Nil,
  True,
  False,
  LowerIdent,
  UpperIdent,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Dot,
];

const lexer = new Lexer(ALL_TOKENS, { positionTracking: 'onlyOffset', ensureOptimizations: false });

// ---------------------------------------------------------------------------------------------------
// Errors

/** A statement or condition that does not parse: the column (1-based) in its text and what was expected. */
export class OttlSyntaxError extends Error {
  constructor(
    readonly column: number,
    readonly detail: string,
  ) {
    super(`column ${column}: ${detail}`);
  }
}

const found = (t: IToken): string => (t.tokenType.name === 'EOF' ? 'the end of the statement' : `"${t.image}"`);
const labelOf = (t: TokenType): string => t.LABEL ?? t.name;
const oneOf = (labels: string[]): string => {
  const uniq = [...new Set(labels)];
  return uniq.length === 1 ? uniq[0]! : `${uniq.slice(0, -1).join(', ')} or ${uniq[uniq.length - 1]}`;
};

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) =>
    `expected ${(ruleName === 'callArgs' || ruleName === 'list') && expected !== LParen ? `"," or ${labelOf(expected)}` : labelOf(expected)}, found ${found(actual)}`,
  buildNotAllInputParsedMessage: ({ firstRedundant }) => `expected the end of the statement, found ${found(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, ruleName }) => {
    if (ruleName === 'key' && (actual[0]!.tokenType === LowerIdent || actual[0]!.tokenType === UpperIdent))
      return `a path or converter as a key (${actual[0]!.image}...) is ${NOT_SUPPORTED_YET}; use a string or an integer key`;
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => labelOf(path[0]!)));
    return `expected ${RULE_NOUN[ruleName] ?? oneOf(firsts)}, found ${found(actual[0]!)}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual }) =>
    `expected ${oneOf(expectedIterationPaths.map((p) => labelOf(p[0]!)))}, found ${found(actual[0]!)}`,
};

const RULE_NOUN: Record<string, string> = {
  value: 'a value (a string, number, bytes, nil, true/false, path, converter call, list or map)',
  mathFactor: 'a value (a string, number, bytes, nil, true/false, path, converter call, list or map)',
  notExpr: 'a condition (a comparison, true/false, a converter call, "not" or "(")',
  primaryBool: 'a condition (a comparison, true/false, a converter call or "(")',
  key: 'a map key (a string or an integer)',
};

// ---------------------------------------------------------------------------------------------------
// Parser

function unquote(image: string): string {
  // Go's escapes for what users write (\" \\ \n \t \r \uXXXX); an unknown escape keeps its backslash, so a
  // regex written "\d" reaches the regex as \d.
  return image.slice(1, -1).replace(/\\(u[0-9a-fA-F]{4}|.)/g, (m, c: string) => {
    switch (c[0]) {
      case '"':
      case '\\':
        return c;
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'u':
        return c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : m;
      default:
        return m;
    }
  });
}

function hexBytes(image: string): Uint8Array {
  const hex = image.slice(2);
  return Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
}

class OttlParser extends EmbeddedActionsParser {
  constructor() {
    super(ALL_TOKENS, { maxLookahead: 3, errorMessageProvider: messages, recoveryEnabled: false });
    this.performSelfAnalysis();
  }

  statement = this.RULE('statement', (): StatementAst => {
    const name = this.CONSUME(LowerIdent);
    const args = this.SUBRULE(this.callArgs);
    let where: BoolExpr | undefined;
    this.OPTION(() => {
      this.CONSUME(Where);
      where = this.SUBRULE(this.boolExpr);
    });
    return { editor: { name: name.image, args, col: name.startOffset + 1 }, where };
  });

  condition = this.RULE('condition', (): BoolExpr => this.SUBRULE(this.boolExpr));

  boolExpr = this.RULE('boolExpr', (): BoolExpr => {
    let l = this.SUBRULE(this.andExpr);
    this.MANY(() => {
      this.CONSUME(Or);
      const r = this.SUBRULE2(this.andExpr);
      l = { k: 'or', l, r };
    });
    return l;
  });

  andExpr = this.RULE('andExpr', (): BoolExpr => {
    let l = this.SUBRULE(this.notExpr);
    this.MANY(() => {
      this.CONSUME(And);
      const r = this.SUBRULE2(this.notExpr);
      l = { k: 'and', l, r };
    });
    return l;
  });

  notExpr = this.RULE('notExpr', (): BoolExpr =>
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Not);
          return { k: 'not', e: this.SUBRULE(this.notExpr) } as BoolExpr;
        },
      },
      { ALT: () => this.SUBRULE(this.primaryBool) },
    ]),
  );

  primaryBool = this.RULE('primaryBool', (): BoolExpr =>
    this.OR({
      IGNORE_AMBIGUITIES: true,
      DEF: [
        // `(a + b) > 3` is a comparison whose left side is grouped math, `(a == b)` a grouped condition:
        // the first is tried first, by backtracking, only when the condition opens with "(".
        { GATE: () => this.LA(1).tokenType !== LParen || this.BACKTRACK(this.comparison).call(this), ALT: () => this.SUBRULE(this.comparison) },
        {
          ALT: () => {
            this.CONSUME(LParen);
            const e = this.SUBRULE(this.boolExpr);
            this.CONSUME(RParen);
            return e;
          },
        },
      ],
    }),
  );

  /** A value or math expression, compared with another when an operator follows. */
  comparison = this.RULE('comparison', (): BoolExpr => {
    const l = this.SUBRULE(this.mathExpr);
    let out: BoolExpr = { k: 'value', e: l };
    this.OPTION(() => {
      const op = this.CONSUME(CompOp);
      const r = this.SUBRULE2(this.mathExpr);
      out = { k: 'cmp', op: op.image as CompareOp, l, r, col: op.startOffset + 1 };
    });
    return out;
  });

  /** `term (+|- term)*`: `*` and `/` bind tighter, operators of one level apply left to right. */
  mathExpr = this.RULE('mathExpr', (): Expr => {
    let l = this.SUBRULE(this.mathTerm);
    this.MANY(() => {
      const op = this.CONSUME(AddSub);
      const r = this.SUBRULE2(this.mathTerm);
      l = { k: 'math', op: op.image as MathOp, l, r, col: op.startOffset + 1 };
    });
    return l;
  });

  mathTerm = this.RULE('mathTerm', (): Expr => {
    let l = this.SUBRULE(this.mathFactor);
    this.MANY(() => {
      const op = this.CONSUME(MulDiv);
      const r = this.SUBRULE2(this.mathFactor);
      l = { k: 'math', op: op.image as MathOp, l, r, col: op.startOffset + 1 };
    });
    return l;
  });

  mathFactor = this.RULE('mathFactor', (): Expr =>
    this.OR([
      {
        ALT: () => {
          this.CONSUME(LParen);
          const e = this.SUBRULE(this.mathExpr);
          this.CONSUME(RParen);
          return e;
        },
      },
      { ALT: () => this.SUBRULE(this.value) },
    ]),
  );

  value = this.RULE('value', (): Expr =>
    this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(StringLit);
          return { k: 'string', v: this.ACTION(() => unquote(t.image)), col: t.startOffset + 1 } as Expr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(IntLit);
          return { k: 'int', v: this.ACTION(() => BigInt(t.image)), col: t.startOffset + 1 } as Expr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(FloatLit);
          return { k: 'float', v: this.ACTION(() => Number(t.image)), col: t.startOffset + 1 } as Expr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(BytesLit);
          return { k: 'bytes', v: this.ACTION(() => hexBytes(t.image)), col: t.startOffset + 1 } as Expr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(Nil);
          return { k: 'nil', col: t.startOffset + 1 } as Expr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(True);
          return { k: 'bool', v: true, col: t.startOffset + 1 } as Expr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(False);
          return { k: 'bool', v: false, col: t.startOffset + 1 } as Expr;
        },
      },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.map) },
      { ALT: () => this.SUBRULE(this.upper) },
      { ALT: () => this.SUBRULE(this.path) },
    ]),
  );

  /** A converter call `Name(args)["key"]` or an enum / function name `NAME`. */
  upper = this.RULE('upper', (): Expr => {
    const t = this.CONSUME(UpperIdent);
    let args: Arg[] | undefined;
    const keys: KeyExpr[] = [];
    this.OPTION(() => {
      args = this.SUBRULE(this.callArgs);
      this.MANY(() => keys.push(this.SUBRULE(this.key)));
    });
    const col = t.startOffset + 1;
    return args === undefined ? { k: 'enum', name: t.image, col } : { k: 'call', name: t.image, args, keys, col };
  });

  path = this.RULE('path', (): Expr => {
    const first = this.CONSUME(LowerIdent);
    const names = [first.image];
    const keys: KeyExpr[] = [];
    this.MANY(() => {
      this.CONSUME(Dot);
      names.push(this.CONSUME2(LowerIdent).image);
    });
    this.MANY2(() => keys.push(this.SUBRULE(this.key)));
    return { k: 'path', names, keys, col: first.startOffset + 1 };
  });

  key = this.RULE('key', (): KeyExpr => {
    this.CONSUME(LBracket);
    const k = this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(StringLit);
          return { k: 'string', v: this.ACTION(() => unquote(t.image)) } as KeyExpr;
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(IntLit);
          return { k: 'int', v: this.ACTION(() => Number(t.image)) } as KeyExpr;
        },
      },
    ]);
    this.CONSUME(RBracket);
    return k;
  });

  callArgs = this.RULE('callArgs', (): Arg[] => {
    const args: Arg[] = [];
    this.CONSUME(LParen);
    this.MANY_SEP({ SEP: Comma, DEF: () => args.push(this.SUBRULE(this.arg)) });
    this.CONSUME(RParen);
    return args;
  });

  arg = this.RULE('arg', (): Arg => {
    let name: string | undefined;
    this.OPTION({
      GATE: () => this.LA(1).tokenType === LowerIdent && this.LA(2).tokenType === Assign,
      DEF: () => {
        name = this.CONSUME(LowerIdent).image;
        this.CONSUME(Assign);
      },
    });
    return { name, value: this.SUBRULE(this.mathExpr) };
  });

  list = this.RULE('list', (): Expr => {
    const t = this.CONSUME(LBracket);
    const items: Expr[] = [];
    this.MANY_SEP({ SEP: Comma, DEF: () => items.push(this.SUBRULE(this.mathExpr)) });
    this.CONSUME(RBracket);
    return { k: 'list', items, col: t.startOffset + 1 };
  });

  map = this.RULE('map', (): Expr => {
    const t = this.CONSUME(LBrace);
    const entries: [string, Expr][] = [];
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => {
        const kt = this.CONSUME(StringLit);
        const key = this.ACTION(() => unquote(kt.image));
        this.CONSUME(Colon);
        entries.push([key, this.SUBRULE(this.mathExpr)]);
      },
    });
    this.CONSUME(RBrace);
    return { k: 'map', entries, col: t.startOffset + 1 };
  });
}

const parser = new OttlParser();

function run<T>(text: string, rule: () => T): T {
  const lexed = lexer.tokenize(text);
  if (lexed.errors.length > 0) {
    const e = lexed.errors[0]!;
    throw new OttlSyntaxError(e.offset + 1, `unexpected character "${text.slice(e.offset, e.offset + 1)}"`);
  }
  parser.input = lexed.tokens;
  const out = rule();
  if (parser.errors.length > 0) {
    const e = parser.errors[0]!;
    const offset = Number.isNaN(e.token.startOffset) || e.token.tokenType.name === 'EOF' ? text.length : e.token.startOffset;
    // `x -1`, `1+2`: the sign lexed into the number (as the collector's lexer does), so say how to write it.
    const signed = (e.token.tokenType === IntLit || e.token.tokenType === FloatLit) && /^[-+]/.test(e.token.image);
    throw new OttlSyntaxError(offset + 1, signed ? `${e.message} (for math, put spaces around the operator: "x - 1")` : e.message);
  }
  return out;
}

/** Parses `editor(args) where condition`; throws OttlSyntaxError. */
export function parseStatement(text: string): StatementAst {
  return run(text, () => parser.statement());
}

/** Parses a bare condition (filter, routing, transform `conditions:`); throws OttlSyntaxError. */
export function parseCondition(text: string): BoolExpr {
  return run(text, () => parser.condition());
}
