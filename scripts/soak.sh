#!/usr/bin/env bash
# ./dev bench, the fault soak at scale: JOBWIRE_SOAK_JOBS (10,000) CloudStack jobs through the SDK
# against the in-process server with 20 % injected faults, on JOBWIRE_SOAK_LANES (20) tenants
# (tests/tests/soak.rs, built with the server profile). Prints the soak's table; fails if a job
# is lost, submitted twice, reported twice or in the wrong state, or requests exceed the policy.
set -euo pipefail
CACHE_DIR="${JOBWIRE_CACHE_DIR:-$HOME/.cache/jobwire}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE_DIR/target}"
CARGO="${NATIVE_CARGO:-$HOME/.cargo/bin/cargo}"
export JOBWIRE_SOAK_JOBS="${JOBWIRE_SOAK_JOBS:-10000}"
export JOBWIRE_SOAK_LANES="${JOBWIRE_SOAK_LANES:-20}"
# Each tenant submits 50 jobs at once: room for a client and a server socket each.
ulimit -n $((JOBWIRE_SOAK_LANES * 200 + 1024)) 2>/dev/null || true
echo "== bench: fault soak, $JOBWIRE_SOAK_JOBS jobs on $JOBWIRE_SOAK_LANES tenants (cargo test --profile server)"
"$CARGO" test --profile server -q -p jobwire-e2e --test soak -- --nocapture --exact \
  fault_soak_every_job_resolves_once_in_its_true_state
