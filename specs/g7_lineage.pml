/*
 * G7 lineage (LangGraph checkpoints).
 *
 * Guarantee (docs/design.md §2, §6): per (thread, namespace) there is exactly one head. A checkpoint is accepted only as a child
 * of the head, or as an explicit fork. The head never goes back; a stale or zombie run gets VERSION_CONFLICT.
 *
 * Bounds: one (thread, namespace); NR = 3 runs and one time-traveller. Each run reads the head once at its start
 * (getTuple: latest; none on an empty thread, then its first put is parentless), then puts NSTEPS = 2 checkpoints,
 * each the child of its own previous one. After a VERSION_CONFLICT a run retries from the new head at most
 * RETRIES = 1 time (invokeWithRetry), else it stops. Any run may stall anywhere (a zombie). The time-traveller makes
 * one explicit fork (forkConfig) from a checkpoint it picks among those stored.
 *
 * How the saver decides (FencedCheckpointSaver.put() in src/langgraph/saver.ts): the head is one key whose version
 * grows by one per accepted put; each stored checkpoint remembers the head version it created (hver). put(parent)
 * commits the new head with expectVersion = hver[parent], so it lands iff parent is still the head; a parentless put
 * expects version 0 (an empty thread); an explicit fork expects the head version read just before (the fork point
 * may be any stored checkpoint). The commit is commit() (src/core/commit.ts), one atomic step here.
 *
 * INVARIANTS (precisely):
 *   lineage      every accepted put without the fork flag has parent == the head at that moment; the thread's first
 *                checkpoint is parentless and only accepted on an empty thread.
 *   no regress   every accepted put without the fork flag has step == step(head) + 1. So between two explicit forks
 *                the head's step grows by exactly one per accepted put, and a rejected put changes nothing: the head
 *                step can go down only at an accepted explicit fork, to step(c) + 1 for the stored checkpoint c
 *                the caller named.
 *   no silent fork  no checkpoint ever gets two children accepted without the fork flag (two "first" checkpoints of
 *                one thread count as two children of the empty thread).
 *   one head     the head is always the last accepted checkpoint (accepting a put, fork included, makes it head).
 *
 * Mutants:
 *   MUTANT_NO_PARENT_CHECK     put() sets the head without expectVersion (the official savers: INSERT OR REPLACE,
 *                              latest = greatest checkpoint id): a zombie's late put becomes the head.
 *   MUTANT_FORK_WITHOUT_FLAG   every put with a parent is measured against the head as it is now, as if it were an
 *                              explicit fork: a stale put silently forks (and moves the head back).
 *   MUTANT_PARENTLESS_ACCEPTED a parentless put onto a thread that has a head is accepted (the compatibility mode
 *                              parentlessPut: "fork", without an explicit flag): two "first" runs both land.
 * Witnesses: WITNESS_ZOMBIE_REJECTED (a put whose parent is two or more steps behind the head is rejected) and
 * WITNESS_FORK_BACK (an explicit fork lowers the head's step).
 */

#define NR      3
#define NSTEPS  2
#define RETRIES 1
#define MAXC    (NR * (NSTEPS + RETRIES) + 1)   /* checkpoint ids 1 .. MAXC; 0 = none */

#define OK       1
#define CONFLICT 2

/* The saver's state for one thread: the head key and the stored checkpoints. */
byte head;                 /* checkpoint id of the head, 0 = empty thread */
byte hv;                   /* the head key's version: one per accepted put */
byte nck;                  /* checkpoints stored: ids 1 .. nck */
byte parent[MAXC + 1];
byte step[MAXC + 1];
byte hver[MAXC + 1];       /* the head version this checkpoint created when it became head */

/* Ghost state. */
byte kids[MAXC + 1];       /* children accepted without the fork flag, per parent (0 = the empty thread) */

#if defined(MUTANT_NO_PARENT_CHECK)
#define HEAD_AT(expect)  true                      /* BUG: the head is set without expectVersion */
#else
#define HEAD_AT(expect)  (hv == expect)            /* commit(head key, expectVersion) */
#endif

/* Store checkpoint id as a child of p and make it the head (one head: the last accepted checkpoint). */
inline accept(p, id)
{
	nck++;
	id = nck;
	parent[id] = p;
	step[id] = (p == 0 -> 0 : step[p] + 1);
	hv++;
	hver[id] = hv;
	head = id
}

/* put() without the fork flag: the child of p, expecting the head key at version expect. */
inline put(p, expect, id, res)
{
	atomic {
		if
		:: HEAD_AT(expect) ->
			/* INVARIANT no regress: exactly one step past the head (or the thread's first checkpoint). */
			assert(head == 0 || (p == 0 -> 0 : step[p] + 1) == step[head] + 1);
			kids[p]++;
			/* INVARIANT no silent fork: at most one unflagged child per checkpoint (0 = the empty thread). */
			assert(kids[p] == 1);
			/* INVARIANT lineage: a put without the fork flag lands only as a child of the head. */
			assert(p == head);
			accept(p, id);
			res = OK
		:: else ->
#ifdef WITNESS_ZOMBIE_REJECTED
			assert(p == 0 || head == 0 || step[head] < step[p] + 2);
#endif
			res = CONFLICT                         /* VERSION_CONFLICT: nothing stored, head unchanged */
		fi
	}
}

/* put() with the explicit fork flag from the stored checkpoint c. */
inline fork(c, expect, id, res)
{
	atomic {
		if
		:: HEAD_AT(expect) ->
			/* An explicit fork names a stored checkpoint. */
			assert(c >= 1 && c <= nck);
#ifdef WITNESS_FORK_BACK
			assert(step[c] + 1 > step[head]);
#endif
			accept(c, id);
			res = OK
		:: else -> res = CONFLICT                  /* the head moved since the fork read it: retry */
		fi
	}
}

proctype graphrun()
{
	byte h, e, id, res, n, tries;

	h = head;                                      /* getTuple: the latest checkpoint at the start */
	do
	:: atomic { n == NSTEPS -> break }
	:: n < NSTEPS ->
		/* expectedHeadVersion(): the parent's recorded head version, or 0 for a parentless put. */
#if defined(MUTANT_FORK_WITHOUT_FLAG)
		e = (h == 0 -> 0 : hv);                    /* BUG: a put with a parent is measured against the head now */
#elif defined(MUTANT_PARENTLESS_ACCEPTED)
		e = (h == 0 -> hv : hver[h]);              /* BUG: a parentless put takes whatever head there is */
#else
		e = (h == 0 -> 0 : hver[h]);
#endif
		put(h, e, id, res);
		if
		:: res == OK -> atomic { h = id; n++; id = 0; e = 0; res = 0 }
		:: else ->
			if
			:: tries == RETRIES -> break           /* the caller gets VERSION_CONFLICT */
			:: else -> atomic { tries++; h = head; e = 0; res = 0 }   /* invokeWithRetry: from the new head */
			fi
		fi
	od;
	atomic { h = 0; e = 0; id = 0; res = 0; n = 0; tries = 0 }
}

/* Time travel: one explicit fork from a stored checkpoint, measured against the head read just before. */
proctype traveller()
{
	byte c, e, id, res;

	atomic {
		nck > 0;                                   /* something to travel back to */
		select(c : 1 .. nck)
	};
	e = hv;
	fork(c, e, id, res);
	atomic { c = 0; e = 0; id = 0; res = 0 }
}

init {
	atomic {
		run graphrun();
		run graphrun();
		run graphrun();
		run traveller()
	}
}
