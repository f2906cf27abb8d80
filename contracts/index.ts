// Public surface of contracts/ (filled in as the module grows).
export {};
