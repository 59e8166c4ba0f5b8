// Package inbox holds Postfach's domain: tenants (Workspace domains), shared
// inboxes and their members, conversations with an owner and a status, internal
// notes and the append-only activity log, plus the Store contract that every
// storage adapter implements.
//
// The package does no I/O. Everything that changes a conversation is a pure
// method on Conversation that returns the Activity describing the change; an
// adapter then persists both atomically with Store.UpdateConversation, which
// refuses the write (ErrConflict) when someone else changed the conversation
// first.
//
// # Error kinds
//
// Callers act on an error's kind with errors.Is, never on its message:
// ErrNotFound, ErrConflict, ErrAlreadyExists, ErrInvalid, ErrForbidden,
// ErrUnavailable.
// Adapters translate their native errors to these kinds at their edge.
package inbox
