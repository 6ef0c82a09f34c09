#include "gencache/keying/json_parse.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <new>
#include <string>

namespace gencache::keying {
namespace {

namespace json = boost::json;

// boost::json::parser's own handler (detail/handler.hpp), with on_double
// re-reading the number's text.
class ExactHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack stack;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    double exact = 0;
    auto result = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    // Out of range (1e400, 1e-400): keep Boost's infinity or zero.
    if (result.ec == std::errc() && result.ptr == number_.data() + number_.size()) d = exact;
    number_.clear();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::string number_;  // the text of a number split across input chunks
};

}  // namespace

json::value ParseJson(std::string_view text, std::error_code& ec, std::size_t max_depth) {
  ec.clear();
  // basic_parser reports malformed input through `ec` but still throws on
  // allocation failure and some size limits: this is the boundary.
  try {
    json::parse_options options;
    options.max_depth = max_depth;
    json::basic_parser<ExactHandler> parser(options);
    parser.handler().stack.reset();
    json::error_code jec;
    std::size_t used = parser.write_some(false, text.data(), text.size(), jec);
    if (!jec && used < text.size()) jec = json::error::extra_data;
    if (jec) {
      ec = jec;
      return nullptr;
    }
    return parser.handler().stack.release();
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  } catch (const std::exception&) {
    ec = std::make_error_code(std::errc::value_too_large);
  }
  return nullptr;
}

}  // namespace gencache::keying
