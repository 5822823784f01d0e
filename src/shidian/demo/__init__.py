"""Demo data (演示数据): synthetic but realistic regions to run, test and benchmark on."""
