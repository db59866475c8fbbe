import { s, type ConfigOf } from '../../src/core/schema.js';

export const basicAuthConfig = s.refine(
  s.object({
    htpasswd: s
      .presence(
        s.object({
          file: s.string().default('').describe('htpasswd file (bcrypt, apr1/MD5, SHA1, SSHA entries); re-read when it changes.'),
          inline: s
            .string()
            .default('')
            .opaque()
            .describe("htpasswd entries written in the config; they override the file's for the same user. Masked in print-config."),
        }),
      )
      .describe('Server: the users a receiver accepts.'),
    client_auth: s
      .presence(
        s.object({
          username: s.string().default('').describe('User name sent by an exporter (required unless username_file).'),
          username_file: s.string().default('').describe('File holding the user name; takes precedence over username, re-read when it changes.'),
          password: s.string().default('').opaque().describe('Password sent by an exporter. Masked in print-config.'),
          password_file: s.string().default('').describe('File holding the password; takes precedence over password, re-read when it changes.'),
        }),
      )
      .describe('Client: the credentials an exporter sends.'),
  }),
  (v, path, issues) => {
    if (!v.htpasswd && !v.client_auth) issues.push({ path, message: 'set htpasswd (to check incoming requests) or client_auth (to send credentials)' });
    if (v.htpasswd && !v.htpasswd.file && !v.htpasswd.inline) issues.push({ path: [...path, 'htpasswd'], message: 'set file or inline' });
    if (v.client_auth && !v.client_auth.username && !v.client_auth.username_file)
      issues.push({ path: [...path, 'client_auth', 'username'], message: 'is required (or set username_file)' });
    if (v.client_auth?.username.includes(':'))
      issues.push({ path: [...path, 'client_auth', 'username'], message: 'a user name cannot contain ":" in basic authentication' });
  },
);

export type BasicAuthConfig = ConfigOf<typeof basicAuthConfig>;
