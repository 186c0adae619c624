// Command devop runs an OpenID provider on 127.0.0.1:9998 for trying single sign-on with a
// local alumnid (README, "Try single sign-on locally"): zitadel/oidc's example OP with one
// person, grace / "cobol compiler 1959", in the group alumni-office, and the client alumnid.
// It writes the matching provider file for ALUMNI_OIDC_PROVIDERS_FILE. For development only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alumnid/alumnid/internal/apitest/oidctest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/sso"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9998", "where the provider listens")
	service := flag.String("service", "http://127.0.0.1:8080", "alumnid's public URL")
	out := flag.String("out", ".data/oidc-dev.json", "where to write the provider file")
	flag.Parse()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	grace := oidctest.User{ID: "u-grace", Username: "grace", Email: "grace@uni.example", Groups: []string{"alumni-office"}}
	grace.Password = "cobol compiler 1959" //nolint:gosec // the development provider's demo person
	p, h := oidctest.New("http://"+*addr, grace)
	p.AddClient("alumnid", "dev-secret", *service+"/api/v1/auth/sso/dev/callback") //nolint:gosec // a development provider's known secret
	cfg := []sso.ProviderConfig{{ID: "dev", Name: "Development login", Issuer: p.Issuer, ClientID: "alumnid", ClientSecret: "dev-secret",
		Roles: map[string]auth.Role{"alumni-office": auth.RoleStaff}, Provision: true}}
	b, _ := json.MarshalIndent(cfg, "", "  ") //nolint:gosec // the provider file carries the client secret, as it must
	if err := os.MkdirAll(filepath.Dir(*out), 0o700); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, b, 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("OpenID provider on http://%s (user grace, password \"cobol compiler 1959\"); provider file %s\n", *addr, *out)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.Serve(ln))
}
