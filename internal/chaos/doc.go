// Package chaos runs the Gmail push sync under every fault at once and
// checks that nothing was lost.
//
// A run plays Google around a real `postfach serve` child process: the
// Gmail simulator (with Gmail errors at random), Google's token and
// certificate endpoints, and Google's Pub/Sub emulator, whose push
// subscription delivers to a relay here that drops, duplicates and
// reorders pushes before handing them, signed as Pub/Sub signs them, to
// the child. Meanwhile mail keeps arriving in shared inboxes, teammates act
// on conversations through signed add-on requests, one mailbox's history
// expires, and the child is killed (SIGKILL) and started again at random
// moments. Then the faults stop, the system catches up through its normal
// paths, and the oracle (Check) compares the end state with the run's own
// record of what was delivered and done.
package chaos
