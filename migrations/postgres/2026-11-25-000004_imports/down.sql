DROP TABLE imports_rejets;
DROP TABLE imports;
