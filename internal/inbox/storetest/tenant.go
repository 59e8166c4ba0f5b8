package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/postfach/postfach/internal/inbox"
)

func tenantCases() []testCase {
	return []testCase{
		{"CreateGet", testTenantCreateGet},
		{"Duplicate", testTenantDuplicate},
		{"Invalid", testTenantInvalid},
		{"NotFound", testTenantNotFound},
	}
}

func testTenantCreateGet(t *testing.T, h Harness) {
	s := newStore(t, h)
	want := inbox.Tenant{Domain: domainA, Name: "Acme Corp", CreatedAt: t0}
	if err := s.CreateTenant(t.Context(), want); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	got, err := s.GetTenant(t.Context(), domainA)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("GetTenant mismatch (-want +got):\n%s", diff)
	}
}

func testTenantDuplicate(t *testing.T, h Harness) {
	s := newStore(t, h)
	first := mustCreateTenant(t, s, domainA)
	err := s.CreateTenant(t.Context(), inbox.Tenant{Domain: domainA, Name: "Impostor", CreatedAt: t0.Add(1)})
	wantErr(t, "CreateTenant(existing domain)", err, inbox.ErrAlreadyExists)

	got, err := s.GetTenant(t.Context(), domainA)
	if err != nil {
		t.Fatalf("GetTenant: %v", err)
	}
	if diff := cmp.Diff(first, got, cmpOpts); diff != "" {
		t.Errorf("the refused create changed the tenant (-want +got):\n%s", diff)
	}
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

func testTenantNotFound(t *testing.T, h Harness) {
	s := newStore(t, h)
	mustCreateTenant(t, s, domainA)
	_, err := s.GetTenant(t.Context(), domainB)
	wantErr(t, "GetTenant(unknown)", err, inbox.ErrNotFound)
}
