// SPDX-License-Identifier: Apache-2.0
#include "collector/store/pg_text.h"

#include <catch2/catch.hpp>
#include <limits>

namespace tidegate::collector::pg {
namespace {

TEST_CASE("ArrayLiteral quotes and escapes every text element", "[collector]") {
  ArrayLiteral a;
  CHECK(a.Finish() == "{}");
  a.Clear();
  a.AddText("plain");
  a.AddText(R"(q"uote\back)");
  a.AddText("NULL");
  a.AddText("{a,b} ");
  a.AddText("");
  CHECK(a.Finish() == R"({"plain","q\"uote\\back","NULL","{a,b} ",""})");
  CHECK(a.Finish() == R"({"plain","q\"uote\\back","NULL","{a,b} ",""})");
}

TEST_CASE("ArrayLiteral writes integers and booleans", "[collector]") {
  ArrayLiteral a;
  a.AddInt(-9223372036854775807 - 1);
  a.AddInt(42);
  CHECK(a.Finish() == "{-9223372036854775808,42}");
  ArrayLiteral b;
  b.AddBool(true);
  b.AddBool(false);
  CHECK(b.Finish() == "{t,f}");
}

TEST_CASE("ArrayLiteral writes NULLs and doubles that read back the same", "[collector]") {
  ArrayLiteral b;
  b.AddDouble(21.5);
  b.AddNull();
  b.AddDouble(0.1);
  b.AddDouble(-1e300);
  b.AddDouble(std::numeric_limits<double>::quiet_NaN());
  b.AddDouble(-std::numeric_limits<double>::infinity());
  CHECK(b.Finish() == "{21.5,NULL,0.1,-1e+300,NaN,-Infinity}");
}

TEST_CASE("RedactConninfo hides passwords in URLs and key=value strings", "[collector]") {
  CHECK(RedactConninfo("postgresql://tg:s3cr@t@db.example:5432/landing") ==
        "postgresql://tg:***@db.example:5432/landing");
  CHECK(RedactConninfo("postgres://tg@db/landing") == "postgres://tg@db/landing");
  CHECK(RedactConninfo("postgresql:///landing?host=/run/pg&password=abc&sslmode=require") ==
        "postgresql:///landing?host=/run/pg&password=***&sslmode=require");
  CHECK(RedactConninfo("host=db password='a b\\'c' dbname=x") == "host=db password=*** dbname=x");
  CHECK(RedactConninfo("host=db password=abc") == "host=db password=***");
}

}  // namespace
}  // namespace tidegate::collector::pg
