// Public surface of client-agent/ (filled in as the module grows).
export {};
