/*
 * G1 single winner / no lost update.
 *
 * Guarantee (docs/design.md §2): of concurrent commits against the same key and version, exactly one succeeds; every other gets
 * VERSION_CONFLICT and changes nothing.
 *
 * Bounds: NW = 3 writers, NK = 2 keys. Each writer makes NOPS = 2 update() calls, each on a key it picks
 * nondeterministically; an update() is a read followed by compare-and-commit(expectVersion) and makes at most
 * 1 + RETRIES = 3 attempts (RETRIES = 2), re-reading after each VERSION_CONFLICT. After the last conflict the writer
 * gives up (the caller gets VERSION_CONFLICT). Each update adds its own bit, so the final value names every commit
 * that landed.
 *
 * Modelled actions and the code that implements them:
 *   read           StateStore.read()                           one atomic snapshot of (value, version)
 *   commit         commit() in src/core/commit.ts              version check + write in ONE backend transaction
 *   update/retry   StateStore.update() in src/core/store.ts    read -> fn -> commit(expectVersion), retry on conflict
 *
 * Mutants (compile with spin -DMUTANT_...):
 *   MUTANT_NO_VERSION_CHECK  the version check is dropped: a blind write (INSERT OR REPLACE).
 *   MUTANT_NONATOMIC_CAS     the check and the write are two separate transactions (SELECT version, then UPDATE).
 *   MUTANT_STALE_RETRY       update() retries with actualVersion from the error but the value computed from the
 *                            first read (the store is right; the retry loop loses the other writer's update).
 * Witness (compile with -DWITNESS_RETRY_WINS; spin must reach it): a writer loses a race, re-reads and then wins.
 */

#define NW      3
#define NK      2
#define NOPS    2
#define RETRIES 2
#define MAXV    (NW * NOPS + 1)        /* versions 0 .. NW*NOPS */

#define OK       1
#define CONFLICT 2

/* The store: one value and one version per key. A missing key has version 0. */
byte val[NK];
byte ver[NK];

/* Ghost state, written only by the verifier's bookkeeping, never read by the protocol. */
byte wins[NK * MAXV];   /* wins[k*MAXV + v]: commits accepted on key k with expectVersion v            */
byte acked[NK];         /* sum of the increments acknowledged to writers as committed on key k          */
byte done;              /* writers that have finished                                                   */

/* Bookkeeping for one accepted commit, inside the same atomic step as the write. */
inline record_win(k, expect, inc)
{
	wins[k * MAXV + expect]++;
	acked[k] = acked[k] + inc;
	/* INVARIANT single winner: at most one commit is accepted per (key, expectVersion). */
	assert(wins[k * MAXV + expect] <= 1);
	/* INVARIANT one chain: an accepted commit moves the key exactly one version past the one it expected. */
	assert(ver[k] == expect + 1)
}

/*
 * compare-and-commit(k, expect, newval). In the spec the check and the write are one atomic step, as in commit():
 * one backend transaction reads the record, compares the version and writes.
 */
inline commit(k, expect, newval, inc, res)
{
#if defined(MUTANT_NONATOMIC_CAS)
	/* BUG: the check is its own transaction; another writer can commit between it and the write. */
	atomic { res = (ver[k] == expect -> OK : CONFLICT) };
	if
	:: res == OK -> atomic { val[k] = newval; ver[k] = expect + 1; record_win(k, expect, inc) }
	:: else
	fi
#else
	atomic {
		if
#if defined(MUTANT_NO_VERSION_CHECK)
		:: true ->   /* BUG: no comparison at all; last writer wins */
#else
		:: ver[k] == expect ->
#endif
			val[k] = newval;
			ver[k] = ver[k] + 1;
			res = OK;
			record_win(k, expect, inc)
		:: else -> res = CONFLICT   /* VERSION_CONFLICT changes nothing */
		fi
	}
#endif
}

proctype writer(byte w)
{
	byte j, k, e, rv, tries, res, inc;

	for (j : 0 .. NOPS - 1) {
		select(k : 0 .. NK - 1);
		inc = 1 << (w * NOPS + j);
		tries = 0;
		atomic { rv = val[k]; e = ver[k] };            /* read */
		do
		:: commit(k, e, rv + inc, inc, res);
			if
			:: res == OK ->
#ifdef WITNESS_RETRY_WINS
				assert(tries == 0);   /* reached: a writer won after a conflict and a re-read */
#endif
				break
			:: else ->
				tries++;
				if
				:: tries > RETRIES -> break        /* gives up: the caller sees VERSION_CONFLICT */
				:: else
				fi;
#if defined(MUTANT_STALE_RETRY)
				e = ver[k]                         /* BUG: new expectVersion, value still from the old read */
#else
				atomic { rv = val[k]; e = ver[k] } /* re-read, recompute, retry */
#endif
			fi
		od;
		e = 0; rv = 0; res = 0                         /* keep dead locals out of the state vector */
	};
	done++
}

init {
	byte k, v;
	atomic {
		run writer(0);
		run writer(1);
		run writer(2)
	};
	(done == NW);
	/* Final state, after every writer returned. */
	for (k : 0 .. NK - 1) {
		/* INVARIANT no lost update: the value is exactly the sum of the acknowledged increments: every successful
		 * commit's increment is present, and nothing a conflicted attempt computed is. */
		assert(val[k] == acked[k]);
		/* INVARIANT one chain: versions 0 -> 1 -> ... -> ver[k], each step made by exactly one commit, none beyond. */
		for (v : 0 .. MAXV - 1) {
			assert((v < ver[k] -> wins[k * MAXV + v] == 1 : wins[k * MAXV + v] == 0))
		}
	}
}
