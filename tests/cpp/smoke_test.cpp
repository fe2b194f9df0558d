// tests/cpp/smoke_test.cpp — placeholder replaced below
#include <gtest/gtest.h>
TEST(Smoke, Builds) { EXPECT_EQ(1, 1); }
