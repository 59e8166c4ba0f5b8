// Package mailboxauth gives Postfach access to Gmail mailboxes while nobody
// is looking, and runs the "Connect mailbox" consent that sets one kind of
// access up. It is an adapter: the sync sees only a token source per
// mailbox (gmailclient.TokenSources), implemented by Provider.
//
// # Access modes
//
// A mailbox link (inbox.Mailbox) says how it is reached, in Access:
//
//   - delegation: the tenant's admin granted Postfach's service account
//     domain-wide delegation (Admin console → Security → API controls →
//     Domain-wide delegation: the service account's client id with the
//     scopes in Scopes). The Provider signs a JWT with the account's key,
//     Subject = the mailbox, and exchanges it at the token endpoint. Keyless
//     impersonation (IAM signJwt) is not implemented.
//   - oauth: the mailbox's owner connected it (Connector): Google's consent
//     with offline access gave a refresh token, which is stored sealed in
//     the link (Mailbox.SealedToken) and refreshed by the Provider.
//   - dev: the development trust root, delegated to ProviderOptions.Dev.
//
// Failures that need a human come back as *AccessError, whose Kind is one
// of the access errors and names an inbox.MailboxProblem: "consent
// revoked" (invalid_grant on a connected mailbox: its owner connects it
// again), "delegation missing" (unauthorized_client: the admin grants
// delegation), "delegation refused"; a mailbox this server has no way into
// fails with ErrNoAccess. The sync records the kind (Mailbox.Problem, read
// with inbox.ProblemOf) and the text (LastError) on the mailbox, and the
// admin's homepage shows the fix for the kind.
//
// # Scopes
//
// Both modes ask for Scopes: gmail.modify only. The narrower
// gmail.metadata + gmail.labels would not do: applying labels
// (threads.modify, messages.batchModify) needs gmail.modify, and
// messages.list with a query (the full resync) is not available with
// gmail.metadata.
//
// # Sealing refresh tokens
//
// A Keyring seals refresh tokens with AES-256-GCM, bound to the mailbox
// address (a sealed token copied to another mailbox does not open). Its
// configuration is one string, "id1:base64key,id2:base64key", the first key
// sealing and all of them opening. cmd/postfach reads it from an
// environment variable; on Cloud Run that variable is filled from Secret
// Manager by the service's secret mounting
// (`gcloud run deploy … --set-secrets POSTFACH_TOKEN_KEYS=postfach-token-keys:latest`),
// so this package needs no Secret Manager client. A key is made with
// `head -c 32 /dev/urandom | base64`.
//
// To rotate: put a new key first and keep the old one second; the Provider
// reseals every token it opens under an older key the next time the
// mailbox syncs (the sweep reaches every mailbox within minutes), and
// Keyring.Reseal does it explicitly. Once no stored token names the old key
// (SealedKeyID), drop it.
//
// # Connect mailbox
//
// See Connector: a signed, expiring, single-use state carries the user
// and tenant from the sidebar through ConnectPath and Google's consent to
// CallbackPath, where the code is exchanged, the account is checked with
// Gmail's users.getProfile, and the sealed refresh token is stored with the
// expiry of the state, which spends it. Disconnect unlinks the mailbox
// (stopping its watch and deleting the sealed token) and revokes the token
// at Google. Package oauthsim is a local OAuth server for the tests.
package mailboxauth
