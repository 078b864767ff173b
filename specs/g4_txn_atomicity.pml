/*
 * G4 atomicity (multi-key transactions).
 *
 * Guarantee (docs/design.md §2): the checks, the write and the records of a commit happen in one transaction; a multi-key
 * transaction is all-or-nothing.
 *
 * Bounds: NK = 3 keys, NW = 3 writers, each running one transfer txn of 1 unit between two keys, at most
 * ATTEMPTS = 2 times (1 + 1 retry after a VERSION_CONFLICT): writer 0 moves key 0 -> key 1, writer 1 key 1 -> key 2,
 * writer 2 key 2 -> key 0, so every pair of writers overlaps on one key and each key is first in one txn and second
 * in another. A writer reads its two keys one at a time (two separate reads, as StateStore.read() does), then commits
 * txn([{key a, expectVersion, set}, {key b, expectVersion, set}]). Every key starts at INIT = 2: the sum is TOTAL = 6.
 * The observer is any reader that takes a snapshot of all keys (one read transaction) at any moment.
 *
 * Modelled actions and the code that implements them:
 *   read    StateStore.read()                                   one key, one snapshot
 *   txn     txn() -> commitTxn() in src/core/commit.ts inside   every request's fence and version check first,
 *           Backend.transact() (src/core/backend.ts)            then every write; any failure returns before a
 *                                                               write: the transaction changes nothing
 *   observe any snapshot read (a backend read transaction)
 *
 * Mutants:
 *   MUTANT_PER_KEY          the txn is applied key by key, each key checked and written in its own transaction:
 *                           other writers interleave between the keys and a later conflict cannot undo the first.
 *   MUTANT_NO_ROLLBACK      one transaction, but checked and written key by key; on a conflict it stops and commits
 *                           what it already wrote (an error caught per request instead of rolling back).
 *   MUTANT_FIRST_KEY_ONLY   only the first request's expectVersion is compared (a loop that returns early).
 * Witness: WITNESS_ABORT_ON_SECOND — a txn whose first key still matches is aborted by a conflict on its second key.
 */

#define NK       3
#define NW       3
#define ATTEMPTS 2
#define INIT     2
#define TOTAL    (NK * INIT)
#define NT       (NW * ATTEMPTS)   /* txn ids: writer * ATTEMPTS + attempt */

#define OK       1
#define CONFLICT 2

byte val[NK] = INIT;               /* every key starts at INIT */
byte ver[NK];

/* Ghost state. */
byte wrote[NT];                    /* keys written so far by each txn */
bit  committed[NW];                /* writer w's transfer committed */
byte done;

/* INVARIANT all-or-nothing, as any snapshot reader sees it: no txn is ever half applied, and no transfer ever
 * half visible (the units in the system stay TOTAL). */
#define SUM           (val[0] + val[1] + val[2])
#define WHOLE(t)      (wrote[t] == 0 || wrote[t] == 2)
#define ALL_WHOLE     (WHOLE(0) && WHOLE(1) && WHOLE(2) && WHOLE(3) && WHOLE(4) && WHOLE(5))
#define CONSISTENT    (SUM == TOTAL && ALL_WHOLE)

inline write(k, v, t)
{
	val[k] = v;
	ver[k]++;
	wrote[t]++
}

/* txn(t): move one unit from a to b, expecting versions ea and eb; na = ra - 1 and nb = rb + 1 from the reads. */
inline txn(a, ea, na, b, eb, nb, t, res)
{
#if defined(MUTANT_PER_KEY)
	/* BUG: one transaction per key. */
	atomic { if :: ver[a] == ea -> write(a, na, t); res = OK :: else -> res = CONFLICT fi };
	atomic { if :: res == OK && ver[b] == eb -> write(b, nb, t) :: res == OK -> res = CONFLICT :: else fi }
#elif defined(MUTANT_NO_ROLLBACK)
	atomic {
		/* BUG: checked and written per key; a conflict keeps what was already written. */
		if
		:: ver[a] == ea -> write(a, na, t);
			if
			:: ver[b] == eb -> write(b, nb, t); res = OK
			:: else -> res = CONFLICT
			fi
		:: else -> res = CONFLICT
		fi
	}
#else
	atomic {
		if
#if defined(MUTANT_FIRST_KEY_ONLY)
		:: ver[a] == ea ->                         /* BUG: the second expectVersion is never compared */
#else
		:: ver[a] == ea && ver[b] == eb ->         /* every check first ... */
#endif
			write(a, na, t);                       /* ... then every write */
			write(b, nb, t);
			res = OK
		:: else -> res = CONFLICT                  /* VERSION_CONFLICT: nothing written */
		fi
	}
#endif
}

proctype writer(byte w)
{
	byte a, b, ra, rb, ea, eb, t, tries, res;

	a = w;
	b = (w + 1) % NK;
	do
	:: atomic { tries == ATTEMPTS -> break }       /* gives up: the caller sees VERSION_CONFLICT */
	:: atomic { tries < ATTEMPTS -> ra = val[a]; ea = ver[a] };   /* read a */
		atomic { rb = val[b]; eb = ver[b] };                      /* read b */
		t = w * ATTEMPTS + tries;
		txn(a, ea, ra - 1, b, eb, rb + 1, t, res);
		atomic {
			/* INVARIANT a conflict aborts the whole txn: an aborted txn wrote nothing. */
			assert(res == OK || wrote[t] == 0);
#ifdef WITNESS_ABORT_ON_SECOND
			assert(!(res == CONFLICT && ver[a] == ea && ver[b] != eb));
#endif
			if
			:: res == OK -> committed[w] = 1; break
			:: else -> tries++; ra = 0; rb = 0; ea = 0; eb = 0; t = 0; res = 0
			fi
		}
	od;
	atomic { a = 0; b = 0; ra = 0; rb = 0; ea = 0; eb = 0; t = 0; tries = 0; res = 0; done++ }
}

/* The observer: a snapshot read can happen in any state; it fires as soon as one is inconsistent. */
active proctype observer()
{
end:	atomic { !CONSISTENT -> assert(CONSISTENT) }   /* unreached-ok: fires only on a violation */
}

init {
	byte k;
	atomic {
		run writer(0);
		run writer(1);
		run writer(2)
	};
	(done == NW);
	for (k : 0 .. NK - 1) {
		/* INVARIANT no lost update: each key holds exactly its start, minus its own writer's committed transfer,
		 * plus the committed transfer of the writer that credits it. */
		assert(val[k] == INIT - committed[k] + committed[(k + NK - 1) % NK])
	}
}
