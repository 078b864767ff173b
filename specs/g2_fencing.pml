/*
 * G2 fencing.
 *
 * Guarantee (docs/design.md §2): claiming (or reclaiming) a key bumps its epoch. A commit made under an older epoch is rejected
 * with FENCED, even when the version has not moved. While a claim is active, a commit that presents no epoch is also
 * rejected: there is no bypass.
 *
 * Second round (docs/design.md "Tokens bound to their claim", "Guards"): a fencing token is valid only for the key and
 * claim it was issued for (epochs come from one store-wide counter), a commit may carry a guard `{ key, epoch }` on a
 * key it does not write, and expiry is judged when the key is held, after any wait for its lock.
 *
 * Bounds: NK = 2 keys; 4 writers:
 *   - three claimers, each making one round: pick a key, claim it (nondeterministically with steal: true), then
 *     NCOMMIT = 1 commit attempt (read -> optional renew -> commit), then release or walk away. The commit is one of:
 *     on its own key under its token; or, for claimer 3 only (bounds), on the other key under its token (a caller
 *     presenting the wrong key's token) or on the other key with no epoch, guarded by { its key, its epoch }.
 *     Claimers 1 and 2 share one owner name (a restarted worker and its stalled predecessor: the classic zombie);
 *     claimer 3 has another owner;
 *   - one plain writer that never claims: NPLAIN = 1 commit presenting no epoch, on a key it picks;
 *   plus the environment: time is abstract, so "the lease ran out" is a nondeterministic EXPIRE step that may hit any
 *   live claim at any moment (the lease is a bit: live or expired). A renewed lease can therefore still expire at any
 *   later moment (its holder can stall past any TTL); renew is modelled by its check and by what it writes.
 * A writer that gets FENCED stops (FENCED is never retried). Bounds can be raised with -DNK=, -DNCOMMIT=, -DNPLAIN=:
 * NCOMMIT = 2 (a second commit after a conflict or after an earlier success) gives 18.6 M states in ~30 s.
 *
 * Modelled actions and the code that implements them (src/core/claims.ts, src/core/commit.ts):
 *   claim(k, owner, steal)   claim()    CLAIM_HELD while another owner's claim is live, unless steal; every
 *                                       grant (first claim, reclaim, claim after expiry) bumps the epoch
 *   renew(k, owner, epoch)   renew()    extends the claim iff it is still the live current claim of this owner, judged
 *                                       when the key is held: the clock may run out while the renew waits for the
 *                                       key's lock (the step between the call and its atomic decision)
 *   release(k, owner, epoch) release()  drops the owner; the epoch stays (it only grows)
 *   expire(k)                the clock  (expiresAt <= now)
 *   commit(k, v, epoch?)     commit()   fenceReason() then the version check, in one transaction
 *   gcommit(k, v, gk, epoch) commit()   with guards: [{ key: gk, epoch }]: the guard by fenceReason(), then k's own
 *                                       fence (no epoch presented on k) and version, in one transaction
 * As in fenceReason(): a presented epoch must equal the key's epoch AND that claim must be live (not expired, not
 * released); no epoch is allowed only while no claim is live.
 *
 * Mutants:
 *   MUTANT_NO_EPOCH_CHECK      commit() compares no epoch; any commit during a live claim passes (zombie lands).
 *   MUTANT_NO_EPOCH_BYPASS     a commit presenting no epoch is let through while a claim is live.
 *   MUTANT_EPOCH_FROM_VERSION  the fencing token is derived from the version (epoch = version + 1) instead of being
 *                              bumped: a reclaim while the version did not move hands out the same token again.
 *   MUTANT_RENEW_UNFENCED      renew() checks only the owner name and rewrites the claim row with the presented epoch
 *                              (as renew() does after its check): a same-owner zombie renews the old epoch back.
 *   MUTANT_EPOCH_PER_KEY       epochs are counted per key, not store-wide: a token of one key can equal another
 *                              key's epoch, and a commit there under it passes.
 *   MUTANT_GUARD_IGNORED       a commit's guard is not checked.
 *   MUTANT_GUARD_OUTSIDE_TXN   the guard is checked in a transaction of its own, before the commit's.
 *   MUTANT_CLOCK_BEFORE_LOCK   renew() reads the clock when it is called, before it waits for the key's lock.
 * Witnesses: WITNESS_ZOMBIE_UNMOVED — a holder whose claim was superseded is FENCED although the version it read is
 * still the key's version (only the epoch saved the write). WITNESS_GUARD_FENCED — a guarded commit is FENCED by its
 * guard alone: the key it writes is free and still at the version it read.
 */

#ifndef NK
#define NK      2
#endif
#ifndef NCOMMIT
#define NCOMMIT 1     /* commit attempts per claim */
#endif
#ifndef NPLAIN
#define NPLAIN  1     /* commits of the writer that presents no epoch */
#endif
#define NONE    0     /* no epoch presented / no owner */

#define OK       1
#define CONFLICT 2
#define FENCED   3
#define HELD     4    /* CLAIM_HELD */

/* The store, per key. */
byte ver[NK];
byte epoch[NK];       /* 0 = never claimed */
byte owner[NK];       /* NONE = released / never claimed; otherwise an owner name */
bit  expired[NK];     /* the current claim's lease ran out */

#define live(k) (owner[k] != NONE && !expired[k])

byte ecount;          /* the store-wide epoch counter (BackendTx.nextEpoch) */

/* Ghost state. */
byte gen[NK];         /* claims granted on k so far: the identity of the current claim, independent of epoch[] */
bit  lapsed[NK];      /* the current claim's lease ran out at some point (only a new claim clears it) */

/* INVARIANT epoch only grows: every write of epoch[k] goes through here. */
inline set_epoch(k, e)
{
	assert(e >= epoch[k]);
	epoch[k] = e
}

inline claim(k, own, steal, e, g, res)
{
	atomic {
		if
		:: live(k) && owner[k] != own && !steal -> res = HELD
		:: else ->
#if defined(MUTANT_EPOCH_FROM_VERSION)
			set_epoch(k, ver[k] + 1);              /* BUG: token = version, not a counter */
#elif defined(MUTANT_EPOCH_PER_KEY)
			set_epoch(k, epoch[k] + 1);            /* BUG: a per-key count; another key may hand out the same */
#else
			/* every grant takes a new store-wide epoch: above the key's own and every one handed out before */
			e = (epoch[k] > ecount -> epoch[k] : ecount) + 1;
			set_epoch(k, e);
			ecount = e;
#endif
			owner[k] = own;
			expired[k] = 0;
			lapsed[k] = 0;
			gen[k]++;
			e = epoch[k];
			g = gen[k];
			res = OK
		fi
	}
}

/* alive: the lease as the renew judges it. Correct: read when the key is held (!expired[k], inside this atomic step). */
inline renew(k, own, e, alive, res)
{
	atomic {
		if
#if defined(MUTANT_RENEW_UNFENCED)
		:: owner[k] == own ->                      /* BUG: owner name only; the old epoch is written back */
			set_epoch(k, e);
#else
		:: e == epoch[k] && owner[k] != NONE && alive && owner[k] == own ->
#endif
			/* INVARIANT no revival: a renew extends only a lease that has not run out (judged when the key is held). */
			assert(!lapsed[k]);
			expired[k] = 0;
			res = OK
		:: else -> res = FENCED
		fi
	}
}

inline release(k, own, e)
{
	atomic {
		if
		:: e == epoch[k] && owner[k] == own -> owner[k] = NONE
		:: else                                        /* not the current claim: returns false, changes nothing */
		fi
	}
}

/*
 * commit(wk, expect, e): e = NONE for a writer that presents no epoch; ck and g are the ghost identity of the claim it
 * holds (its key and its grant number there).
 */
inline commit(wk, expect, e, g, ck, res)
{
	atomic {
		if
#if !defined(MUTANT_NO_EPOCH_BYPASS)
		:: e == NONE && live(wk) -> res = FENCED                       /* no bypass while a claim is live */
#endif
#if !defined(MUTANT_NO_EPOCH_CHECK)
		:: e != NONE && (e != epoch[wk] || !live(wk)) -> res = FENCED  /* superseded, released or expired */
#else
		:: e != NONE && !live(wk) -> res = FENCED                      /* BUG: liveness only, any epoch */
#endif
		:: else ->
			if
			:: ver[wk] != expect -> res = CONFLICT
			:: else ->
				ver[wk]++;
				res = OK;
				/* INVARIANT fencing: a commit under a claim lands only on the key the claim was granted for, and only
				 * if no later claim was granted there (no commit under a superseded epoch is applied after the
				 * reclaim, whatever the version; no token works on another key). */
				assert(e == NONE || (ck == wk && g == gen[wk]));
				/* INVARIANT lease: a commit under a claim lands only while that claim is live. */
				assert(e == NONE || live(wk));
				/* INVARIANT no bypass: a commit presenting no epoch lands only while no claim is live. */
				assert(e != NONE || !live(wk))
			fi
		fi;
		/* INVARIANT no false fence: FENCED only for a claim that is superseded, expired or released, or for a commit
		 * without epoch while a claim is live (the guard above, restated from the ghost identity of the claim). */
		assert(res != FENCED || (e == NONE && live(wk)) || (e != NONE && (ck != wk || g != gen[wk] || !live(wk))));
#ifdef WITNESS_ZOMBIE_UNMOVED
		assert(!(res == FENCED && e != NONE && ck == wk && g != gen[wk] && ver[wk] == expect));
#endif
		skip
	}
}

#define held(hk, he) (he == epoch[hk] && live(hk))   /* the guard { hk, he } by fenceReason() */

/* The part of a guarded commit after its guard: wk's own fence (no epoch presented) and version, then the write. */
inline guarded_write(wk, wexpect, gk, gg, gres)
{
	if
	:: live(wk) -> gres = FENCED                                  /* wk itself is claimed: no bypass */
	:: else ->
		if
		:: ver[wk] != wexpect -> gres = CONFLICT
		:: else ->
			ver[wk]++;
			gres = OK;
			/* INVARIANT guard: a guarded commit lands only while the guard's claim is the current, live claim of
			 * its key (ghost identity, not the epoch). */
			assert(gg == gen[gk] && live(gk))
		fi
	fi
}

/*
 * commit(wk, wexpect, guards: [{ gk, ge }]) with no epoch of its own; gg is the ghost identity of the claim on gk.
 * Runs inside the caller's atomic step (one transaction).
 */
inline gcommit(wk, wexpect, gk, ge, gg, gres)
{
	if
#if !defined(MUTANT_GUARD_IGNORED) && !defined(MUTANT_GUARD_OUTSIDE_TXN)
	:: !held(gk, ge) -> gres = FENCED                                 /* guards first, in the same transaction */
#endif
	:: else -> guarded_write(wk, wexpect, gk, gg, gres)
	fi;
	/* INVARIANT no false fence, for guards: FENCED only when the guard's claim is superseded, expired or released,
	 * or when wk has a live claim. */
	assert(gres != FENCED || gg != gen[gk] || !live(gk) || live(wk));
#ifdef WITNESS_GUARD_FENCED
	assert(!(gres == FENCED && !live(wk) && ver[wk] == wexpect))
#else
	skip
#endif
}

#define OWN     0     /* commit kinds */
#define CROSS   1
#define GUARDED 2

/* roam: this claimer may also commit on the other key (under its token, or guarded by its claim). */
proctype claimer(byte own; bit roam)
{
	byte k, t, e, g, v, res, n, kind;
	bit steal, alive;

	/* Picking the key and whether to steal are local choices, folded into the claim's atomic step. */
	atomic {
		select(k : 0 .. NK - 1);
		if
		:: steal = 0
		:: steal = 1                               /* steal: true (reclaim) */
		fi;
		claim(k, own, steal, e, g, res);
		steal = 0;
		if
		:: res == OK -> res = 0
		:: else -> goto out                        /* CLAIM_HELD */
		fi
	};
	do
	:: atomic { n == NCOMMIT -> goto leave }
	:: atomic {
		n < NCOMMIT;
		if
		:: t = k; kind = OWN                       /* its own key, under its token */
#if NK > 1
		:: roam -> t = 1 - k; kind = CROSS         /* another key, under this key's token */
		:: roam -> t = 1 - k; kind = GUARDED       /* another key, guarded by this claim */
#endif
		fi;
		v = ver[t]                                 /* read (then the writer works, maybe for too long) */
	   };
		if
		:: /* renew: called now, decided once it holds the key; the lease may run out in between */
#if defined(MUTANT_CLOCK_BEFORE_LOCK)
			atomic { alive = !expired[k] };        /* BUG: reads the clock before waiting for the key's lock */
			atomic { renew(k, own, e, alive, res); alive = 0; if :: res == FENCED -> goto out :: else -> res = 0 fi }
#else
			atomic { renew(k, own, e, !expired[k], res); if :: res == FENCED -> goto out :: else -> res = 0 fi }
#endif
		:: skip
		fi;
#if defined(MUTANT_GUARD_OUTSIDE_TXN)
		if                                         /* BUG: the guard in a transaction of its own, before the commit's */
		:: kind == GUARDED -> atomic { if :: !held(k, e) -> res = FENCED :: else fi }
		:: else
		fi;
#endif
		atomic {
			if
			:: res == FENCED -> skip               /* unreached-ok: only MUTANT_GUARD_OUTSIDE_TXN fences here */
			:: else ->
				if
				:: kind == GUARDED -> gcommit(t, v, k, e, g, res)
				:: else -> commit(t, v, e, g, k, res)
				fi
			fi;
			v = 0; t = 0; kind = 0;
			if
			:: res == FENCED -> goto out          /* lost the key: FENCED is never retried */
			:: else -> res = 0; n++                /* OK, or VERSION_CONFLICT: re-read next time */
			fi
		}
	od;
leave:
	if
	:: release(k, own, e)
	:: skip                                        /* walks away; the lease will expire */
	fi;
out:
	atomic { k = 0; t = 0; e = 0; g = 0; v = 0; res = 0; n = 0; kind = 0 }
}

proctype plain()
{
	byte k, v, res, n;

	do
	:: atomic { n == NPLAIN -> break }
	:: atomic {
		n < NPLAIN;
		select(k : 0 .. NK - 1);
		v = ver[k]                                 /* read */
	   };
	   atomic { commit(k, v, NONE, 0, 0, res); k = 0; v = 0; res = 0; n++ }
	od
}

/* The clock: any live lease may run out at any moment. */
active proctype clock()
{
end:	do
	:: atomic { live(0) -> expired[0] = 1; lapsed[0] = 1 }
#if NK > 1
	:: atomic { live(1) -> expired[1] = 1; lapsed[1] = 1 }
#endif
	od
}

init {
	atomic {
		run claimer(1, 0);
		run claimer(1, 0);   /* same owner name: a restarted worker next to its stalled predecessor */
		run claimer(2, 1);   /* another owner, which also writes the other key */
		run plain()
	}
}
