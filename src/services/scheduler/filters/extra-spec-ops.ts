// Nova's extra-spec comparison language, used by the aggregate extra specs filter. A requirement
// is either a plain value (string equality) or an operator and its operand(s):
//   '= 4' (numeric ≥), '== 4', '!= 4', '>= 4', '<= 4', 's== a', 's!= a', 's< a', 's<= a',
//   's> a', 's>= a', '<in> sub' (substring), '<all-in> a b' (every word a substring),
//   '<or> a <or> b' (equal to one of them).
// A first word that is no operator makes the whole requirement a plain value.

type Compare = (value: string, operand: string) => boolean;

function number(text: string): number {
  return text.trim() === '' ? NaN : Number(text);
}

const OPERATORS: Record<string, Compare> = {
  '=': (v, o) => number(v) >= number(o),
  '==': (v, o) => number(v) === number(o),
  '!=': (v, o) => !Number.isNaN(number(v)) && !Number.isNaN(number(o)) && number(v) !== number(o),
  '>=': (v, o) => number(v) >= number(o),
  '<=': (v, o) => number(v) <= number(o),
  's==': (v, o) => v === o,
  's!=': (v, o) => v !== o,
  's<': (v, o) => v < o,
  's<=': (v, o) => v <= o,
  's>': (v, o) => v > o,
  's>=': (v, o) => v >= o,
  '<in>': (v, o) => v.includes(o),
};

/** Whether the host-side `value` satisfies the flavor's `requirement`. */
export function matchesExtraSpec(value: string, requirement: string): boolean {
  const words = requirement.split(/\s+/).filter((w) => w !== '');
  const op = words[0];
  if (op === '<or>') {
    // '<or> a <or> b <or> c': the alternatives are every other word after the first.
    for (let i = 1; i < words.length; i += 2) if (words[i] === value) return true;
    return false;
  }
  if (op === '<all-in>') return words.length > 1 && words.slice(1).every((w) => value.includes(w));
  const compare = op === undefined ? undefined : OPERATORS[op];
  if (!compare) return value === requirement;
  const operand = words[1];
  return operand !== undefined && compare(value, operand);
}
