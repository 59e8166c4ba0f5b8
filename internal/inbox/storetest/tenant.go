package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func tenantCases() []testCase {
	return []testCase{
		{"List", testListTenants},
		{"CreateGet", testTenantCreateGet},
		{"Duplicate", testTenantDuplicate},
		{"Invalid", testTenantInvalid},
		{"InvalidAdmins", testTenantInvalidAdmins},
		{"NotFound", testTenantNotFound},
		{"Update", testTenantUpdate},
		{"UpdateFnError", testTenantUpdateFnError},
		{"UpdateKeys", testTenantUpdateKeys},
	}
}

// wantTenant fails unless the stored tenant equals want.
func wantTenant(t *testing.T, s inbox.Store, want inbox.Tenant) {
	t.Helper()
	got, err := s.GetTenant(t.Context(), want.Domain)
	if err != nil {
		t.Fatalf("GetTenant(%s): %v", want.Domain, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetTenant(%s) mismatch (-want +got):\n%s", want.Domain, diff)
	}
}

// mustUpdateTenant applies fn through UpdateTenant and checks that the
// result it returns is the stored one.
func mustUpdateTenant(t *testing.T, s inbox.Store, domain string, fn func(*inbox.Tenant) error) inbox.Tenant {
	t.Helper()
	got, err := s.UpdateTenant(t.Context(), domain, fn)
	if err != nil {
		t.Fatalf("UpdateTenant(%s): %v", domain, err)
	}
	wantTenant(t, s, got)
	return got
}

func testTenantCreateGet(t *testing.T, h Harness) {
	s := newStore(t, h)
	want := inbox.Tenant{Domain: domainA, Name: "Acme Corp", Admins: []string{alice}, CreatedAt: t0}
	if err := s.CreateTenant(t.Context(), want); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	wantTenant(t, s, want)
}

func testTenantDuplicate(t *testing.T, h Harness) {
	s := newStore(t, h)
	first := mustCreateTenant(t, s, domainA)
	err := s.CreateTenant(t.Context(), inbox.Tenant{Domain: domainA, Name: "Impostor", Admins: []string{bob}, CreatedAt: t0.Add(1)})
	wantErr(t, "CreateTenant(existing domain)", err, inbox.ErrAlreadyExists)
	wantTenant(t, s, first)
}

func testTenantInvalid(t *testing.T, h Harness) {
	s := newStore(t, h)
	for _, tc := range []struct {
		name   string
		tenant inbox.Tenant
	}{
		{"Empty", inbox.Tenant{}},
		{"UpperCase", inbox.Tenant{Domain: "Acme.example", Name: "Acme"}},
		{"NoDot", inbox.Tenant{Domain: "localhost", Name: "Local"}},
		{"Address", inbox.Tenant{Domain: "bob@acme.example", Name: "Bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateTenant(t.Context(), tc.tenant)
			wantErr(t, "CreateTenant", err, inbox.ErrInvalid)
		})
	}
}

// badAdmins are admin lists Tenant.Validate refuses for domainA.
var badAdmins = []struct {
	name   string
	admins []string
}{
	{"UpperCase", []string{"Alice@" + domainA}},
	{"DisplayName", []string{"Alice <" + alice + ">"}},
	{"Empty", []string{alice, ""}},
	{"NotAnAddress", []string{"alice"}},
	{"OtherDomain", []string{"alice@" + domainB}},
	{"Subdomain", []string{"alice@eu." + domainA}},
	{"Twice", []string{alice, bob, alice}},
}

// testTenantInvalidAdmins: admins are lower-case addresses of the tenant's
// own domain, each listed once; a create that breaks this stores nothing.
func testTenantInvalidAdmins(t *testing.T, h Harness) {
	s := newStore(t, h)
	for _, tc := range badAdmins {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateTenant(t.Context(), inbox.Tenant{Domain: domainA, Name: "Acme", Admins: tc.admins})
			wantErr(t, fmt.Sprintf("CreateTenant(admins %q)", tc.admins), err, inbox.ErrInvalid)
		})
	}
	_, err := s.GetTenant(t.Context(), domainA)
	wantErr(t, "GetTenant(after the refused creates)", err, inbox.ErrNotFound)
}

func testTenantNotFound(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	_, err := s.GetTenant(t.Context(), domainB)
	wantErr(t, "GetTenant(unknown)", err, inbox.ErrNotFound)

	called := false
	_, err = s.UpdateTenant(t.Context(), domainB, func(*inbox.Tenant) error {
		called = true
		return nil
	})
	wantErr(t, "UpdateTenant(unknown)", err, inbox.ErrNotFound)
	if called {
		t.Error("UpdateTenant(unknown) called fn; there is no tenant to give it")
	}
	_, err = s.GetTenant(t.Context(), domainB)
	wantErr(t, "GetTenant(after the refused update)", err, inbox.ErrNotFound)
}

// testTenantUpdate: fn sees the stored tenant, and what it leaves is
// written and returned; admins keep their order and may be emptied.
func testTenantUpdate(t *testing.T, h Harness) {
	s := newStore(t, h)
	stored := inbox.Tenant{Domain: domainA, Name: "Acme", Admins: []string{alice}, CreatedAt: t0}
	if err := s.CreateTenant(t.Context(), stored); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	other := mustCreateTenant(t, s, domainB)

	want := stored
	want.Name = "Acme Corp – “Ünïcødé” 👍"
	want.Admins = []string{alice, carol, bob} // not sorted: the store keeps the order
	got, err := s.UpdateTenant(t.Context(), domainA, func(tn *inbox.Tenant) error {
		if diff := cmp.Diff(stored, *tn, cmpOpts); diff != "" {
			return fmt.Errorf("fn was given another tenant than the stored one (-stored +given):\n%s", diff)
		}
		tn.Name = want.Name
		tn.Admins = append(tn.Admins, carol, bob)
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateTenant returned (-want +got):\n%s", diff)
	}
	wantTenant(t, s, want)

	// Removing the first admin keeps the others in order; removing all
	// leaves none.
	want.Admins = []string{carol, bob}
	mustUpdateTenant(t, s, domainA, func(tn *inbox.Tenant) error {
		tn.Admins = tn.Admins[1:]
		return nil
	})
	wantTenant(t, s, want)
	want.Admins, want.Name = nil, ""
	mustUpdateTenant(t, s, domainA, func(tn *inbox.Tenant) error {
		tn.Admins, tn.Name = []string{}, ""
		return nil
	})
	wantTenant(t, s, want)

	// An update that changes nothing returns the stored tenant.
	got, err = s.UpdateTenant(t.Context(), domainA, func(*inbox.Tenant) error { return nil })
	if err != nil {
		t.Fatalf("UpdateTenant(no change): %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateTenant(no change) returned (-want +got):\n%s", diff)
	}
	wantTenant(t, s, other)
}

// testTenantUpdateFnError: fn's error aborts the update, whatever fn
// changed first, and reaches the caller recognisably.
func testTenantUpdateFnError(t *testing.T, h Harness) {
	s := newStore(t, h)
	stored := inbox.Tenant{Domain: domainA, Name: "Acme", Admins: []string{alice}, CreatedAt: t0}
	if err := s.CreateTenant(t.Context(), stored); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	_, err := s.UpdateTenant(t.Context(), domainA, func(tn *inbox.Tenant) error {
		tn.Name = "half done"
		tn.Admins = append(tn.Admins, bob)
		return fmt.Errorf("settings: %w", errBoom)
	})
	wantErr(t, "UpdateTenant(fn fails)", err, errBoom)
	wantTenant(t, s, stored)
}

// testTenantUpdateKeys: fn may not move the tenant to another domain, nor
// leave it invalid; nothing is written then.
func testTenantUpdateKeys(t *testing.T, h Harness) {
	s := newStore(t, h)
	stored := inbox.Tenant{Domain: domainA, Name: "Acme", Admins: []string{alice}, CreatedAt: t0}
	if err := s.CreateTenant(t.Context(), stored); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	cases := []struct {
		name   string
		change func(tn *inbox.Tenant)
	}{
		{"Domain", func(tn *inbox.Tenant) { tn.Domain = domainB }},
		{"DomainCase", func(tn *inbox.Tenant) { tn.Domain = "Acme.example" }},
		{"DomainWithAdmins", func(tn *inbox.Tenant) { tn.Domain, tn.Admins = domainB, []string{"alice@" + domainB} }},
	}
	for _, bad := range badAdmins {
		cases = append(cases, struct {
			name   string
			change func(tn *inbox.Tenant)
		}{"Admins" + bad.name, func(tn *inbox.Tenant) { tn.Admins = bad.admins }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateTenant(t.Context(), domainA, func(tn *inbox.Tenant) error {
				tn.Name = "Changed"
				tc.change(tn)
				return nil
			})
			wantErr(t, "UpdateTenant", err, inbox.ErrInvalid)
		})
	}
	wantTenant(t, s, stored)
	_, err := s.GetTenant(t.Context(), domainB)
	wantErr(t, "GetTenant(domain fn moved to)", err, inbox.ErrNotFound)
}
