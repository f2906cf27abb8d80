// Public surface of server/ (filled in as the module grows).
export {};
