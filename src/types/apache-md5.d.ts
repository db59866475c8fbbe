/** apache-md5 ships no types: hash(password, salt?) gives `$apr1$...` (or `$1$...` for such a salt). */
declare module 'apache-md5' {
  function md5(password: string, salt?: string): string;
  export default md5;
}
