#!/usr/bin/env python3
"""tests/filter/as_oracle.py AGG EXPRS — expected totals for AS filters.

Debian's nfdump 1.7.1 refuses `as` filters without a geo database, so the
differential test takes nfdump's aggregation of the same flows by
(srcas, dstas, nextas, prevas) — AGG, lines "sas|das|nas|pas|flows|ibytes|ipkts|obytes|opkts"
from `nfdump -A srcas,dstas,nextas,prevas -o fmt:...` — and evaluates each
AS filter of EXPRS (AS primitives with and/or/not/parentheses only) on every
tuple, summing the tuples that match. Prints "flows<TAB>bytes<TAB>packets<TAB>expr".
This evaluator is independent of flowlens' C parser.
"""
import re
import sys

TOK = re.compile(r'\s*(\[|\]|,|\(|\)|>=|<=|==|=|>|<|&&|\|\||!|[A-Za-z0-9_.:-]+)')
CMP = {'=': '==', '==': '==', 'eq': '==', '>': '>', 'gt': '>', '<': '<', 'lt': '<',
       '>=': '>=', 'ge': '>=', '<=': '<=', 'le': '<='}


def tokenize(s):
    s = s.split('#')[0]
    out, i = [], 0
    while i < len(s):
        m = TOK.match(s, i)
        if not m:
            raise ValueError('bad char at %d in %r' % (i, s))
        out.append(m.group(1).lower())
        i = m.end()
        while i < len(s) and s[i].isspace():
            i += 1
    return out


class P:
    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else None

    def take(self):
        self.i += 1
        return self.t[self.i - 1]

    def orx(self):
        f = self.andx()
        while self.peek() in ('or', '||'):
            self.take()
            g = self.andx()
            f = (lambda a, b: lambda r: a(r) or b(r))(f, g)
        return f

    def andx(self):
        f = self.unary()
        while self.peek() in ('and', '&&'):
            self.take()
            g = self.unary()
            f = (lambda a, b: lambda r: a(r) and b(r))(f, g)
        return f

    def unary(self):
        if self.peek() in ('not', '!'):
            self.take()
            f = self.unary()
            return lambda r: not f(r)
        if self.peek() == '(':
            self.take()
            f = self.orx()
            assert self.take() == ')'
            return f
        return self.prim()

    def prim(self):
        q = 'any2'
        a, b, c = self.peek(), self.peek(1), self.peek(2)
        if a in ('src', 'dst') and b in ('or', 'and') and c in ('src', 'dst') and c != a:
            q = 'either' if b == 'or' else 'both'
            self.i += 3
        elif a in ('src', 'dst', 'prev', 'next'):
            q = a
            self.take()
        assert self.take() == 'as'
        if self.peek() == 'in':
            self.take()
            assert self.take() == '['
            vals = set()
            while self.peek() != ']':
                t = self.take()
                if t != ',':
                    vals.add(int(t, 0))
            self.take()
            test = lambda v: v in vals
        else:
            op = CMP.get(self.peek(), None)
            if op:
                self.take()
            else:
                op = '=='
            n = int(self.take(), 0)
            test = {'==': lambda v: v == n, '>': lambda v: v > n, '<': lambda v: v < n,
                    '>=': lambda v: v >= n, '<=': lambda v: v <= n}[op]
        col = {'src': 0, 'dst': 1, 'next': 2, 'prev': 3}
        if q in col:
            k = col[q]
            return lambda r: test(r[k])
        if q == 'both':
            return lambda r: test(r[0]) and test(r[1])
        return lambda r: test(r[0]) or test(r[1])


def main():
    rows = []
    with open(sys.argv[1]) as f:
        for line in f:
            p = [x.strip() for x in line.split('|')]
            if len(p) == 9:
                v = [int(x) for x in p]
                # nfdump's summary counts both directions: in + out
                rows.append(v[:5] + [v[5] + v[7], v[6] + v[8]])
    with open(sys.argv[2]) as f:
        for line in f:
            e = line.strip()
            if not e or e.startswith('#'):
                continue
            p = P(tokenize(e))
            fn = p.orx()
            assert p.peek() is None, 'trailing tokens in %r' % e
            fl = by = pk = 0
            for r in rows:
                if fn(r):
                    fl += r[4]
                    by += r[5]
                    pk += r[6]
            print('%d\t%d\t%d\t%s' % (fl, by, pk, e))


if __name__ == '__main__':
    main()
