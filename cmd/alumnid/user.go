package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/password"
	"github.com/alumnid/alumnid/internal/settings"
	"github.com/alumnid/alumnid/internal/token"
)

type userCmd struct {
	Create        userCreateCmd        `cmd:"" help:"Create a user; the password is read from stdin (or prompted for on a terminal)."`
	ResetPassword userResetPasswordCmd `cmd:"" name:"reset-password" help:"Set a user's password (read from stdin) and end its sessions."`
	ResetTOTP     userResetTOTPCmd     `cmd:"" name:"reset-totp" help:"Remove a user's TOTP second factor and recovery codes (a lost authenticator) and end its sessions."`
	LinkSSO       userLinkSSOCmd       `cmd:"" name:"link-sso" help:"Link an existing user to an identity provider's identity (issuer and subject, from the audit event of their refused sign-in)."`
	Demo          userDemoCmd          `cmd:"" help:"Create or reset one demo user per role with fresh random passwords, and print them. For local demos only."`
}

type userResetPasswordCmd struct {
	Email string `required:"" help:"Sign-in email."`
}

func (u userResetPasswordCmd) Run(e *env) error {
	pw, err := readPassword(e.stdout)
	if err != nil {
		return err
	}
	ctx, svc, closeDB, err := authService(e)
	if err != nil {
		return err
	}
	defer closeDB()
	user, err := svc.ResetPassword(ctx, u.Email, pw)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "password of %s reset; its sessions ended\n", user.Email)
	return err
}

type userResetTOTPCmd struct {
	Email string `required:"" help:"Sign-in email."`
}

func (u userResetTOTPCmd) Run(e *env) error {
	ctx, svc, closeDB, err := authService(e)
	if err != nil {
		return err
	}
	defer closeDB()
	user, err := svc.ResetTOTP(ctx, u.Email)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "second factor of %s removed; its sessions ended\n", user.Email)
	return err
}

type userLinkSSOCmd struct {
	Email   string `required:"" help:"Sign-in email of the existing user."`
	Issuer  string `required:"" help:"The provider's issuer URL."`
	Subject string `required:"" help:"The person's subject (sub) at that issuer."`
}

func (u userLinkSSOCmd) Run(e *env) error {
	ctx, svc, closeDB, err := authService(e)
	if err != nil {
		return err
	}
	defer closeDB()
	user, err := svc.LinkIdentity(ctx, u.Email, u.Issuer, u.Subject)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s now signs in through %s\n", user.Email, u.Issuer)
	return err
}

type userDemoCmd struct {
	Domain string `default:"demo.alumnid.test" help:"Email domain of the demo users."`
}

func (u userDemoCmd) Run(e *env) error {
	ctx, svc, closeDB, err := authService(e)
	if err != nil {
		return err
	}
	defer closeDB()
	alumnusID, err := svc.DemoAlumnus(ctx)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintln(e.stdout, "Demo users (new passwords on every run):")
	for _, role := range auth.Roles {
		email := string(role) + "@" + u.Domain
		pw := demoPassword()
		if _, err := svc.ResetPassword(ctx, email, pw); derrors.KindOf(err) == derrors.NotFound {
			in := auth.NewUser{Email: email, Role: role, Password: pw, Enabled: true}
			if role == auth.RoleAlumnus {
				in.AlumnusID = alumnusID
			}
			_, err = svc.CreateUser(ctx, in)
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(e.stdout, "  %-8s %-28s %s\n", role, email, pw)
	}
	return nil
}

// demoPassword is 20 random lower-case letters and digits, in four groups.
func demoPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	var out strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			out.WriteByte('-')
		}
		out.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return out.String()
}

type userCreateCmd struct {
	Email     string `required:"" help:"Sign-in email."`
	Role      string `required:"" enum:"admin,staff,viewer,alumnus" help:"admin, staff, viewer or alumnus."`
	AlumnusID string `name:"alumnus-id" help:"Public id of the user's own record (role alumnus)."`
}

// stdin is where user create reads the password; tests replace it.
var stdin io.Reader = os.Stdin

func (u userCreateCmd) Run(e *env) error {
	pw, err := readPassword(e.stdout)
	if err != nil {
		return err
	}
	ctx, svc, closeDB, err := authService(e)
	if err != nil {
		return err
	}
	defer closeDB()
	created, err := svc.CreateUser(ctx, auth.NewUser{Email: u.Email, Role: auth.Role(u.Role), Password: pw, Enabled: true, AlumnusID: u.AlumnusID})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "created %s user %s (%s)\n", created.Role, created.Email, created.ID)
	return err
}

// readPassword reads one line from stdin; on a terminal it prompts without echo.
func readPassword(prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		_, _ = fmt.Fprint(prompt, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		_, _ = fmt.Fprintln(prompt)
		return string(b), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin")
	}
	return line, nil
}

// authService opens the database and returns the account service, with a context whose
// audit actor is the command line. Tokens are not signed by the CLI, so it gets an authority
// without keys.
func authService(e *env) (context.Context, *auth.Service, func(), error) {
	sqlDB, err := database.Open(e.ctx, e.cli.DBDSN, database.PoolConfig{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		return nil, nil, nil, err
	}
	svc := auth.New(sqlDB, token.NewAuthority(nil, token.Config{}), password.NewHasher(password.DefaultParams, 0),
		settings.NewStore(sqlDB), slog.New(slog.DiscardHandler))
	ctx := audit.WithActor(e.ctx, audit.Actor{RequestID: "cli"})
	return ctx, svc, func() { _ = sqlDB.Close() }, nil
}

type keygenCmd struct {
	Out string `required:"" type:"path" help:"File to write the private key to (mode 0600)."`
}

func (k keygenCmd) Run(e *env) error {
	created, err := token.GenerateKeyFile(k.Out)
	if err != nil {
		return err
	}
	msg := "kept existing key %s\n"
	if created {
		msg = "created key %s\n"
	}
	_, err = fmt.Fprintf(e.stdout, msg, k.Out)
	return err
}
