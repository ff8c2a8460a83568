/*
 * bench_xapian.cc: the Xapian 1.4 peer of the benchmark. Documents are
 * indexed by a TermGenerator with FLAG_CJK_NGRAM (unigrams and bigrams of
 * CJK text, with positions): the body without prefix, the title with prefix
 * S; the body text is the document data, the date a value. Queries go
 * through a QueryParser with FLAG_CJK_NGRAM | FLAG_PHRASE | FLAG_DEFAULT and
 * AND as default operator, so a phrase query is the quoted phrase on the
 * body and a multi-term query the AND of its words. The count comes from
 * get_mset(0, 10, doccount): with check_at_least equal to the document count
 * get_matches_estimated() is exact. The top 10 documents' data is fetched.
 * Built by bench/run with g++ and pkg-config xapian-core; never part of make.
 */
#include "benchutil.h"

#include <xapian.h>

#include <cstdio>
#include <string>

namespace {

struct xap {
    Xapian::Database *db = nullptr;
    Xapian::Enquire *enq = nullptr;
    Xapian::QueryParser qp;
    Xapian::doccount n = 0;
};

int build(void *st, const bench_corpus *c, const char *path)
{
    (void)st;
    try {
        Xapian::WritableDatabase db(path, Xapian::DB_CREATE_OR_OVERWRITE);
        Xapian::TermGenerator tg;
        tg.set_flags(Xapian::TermGenerator::FLAG_CJK_NGRAM);
        for (size_t i = 0; i < c->n; i++) {
            const bench_doc *d = &c->docs[i];
            Xapian::Document doc;
            tg.set_document(doc);
            tg.index_text(std::string(d->title, d->title_len), 1, "S");
            tg.increase_termpos();
            tg.index_text(std::string(d->text, d->text_len));
            doc.set_data(std::string(d->text, d->text_len));
            doc.add_value(0, std::string(d->date, d->date_len));
            doc.add_boolean_term("Q" + std::string(d->id, d->id_len));
            db.add_document(doc);
        }
        db.commit();
        db.close();
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "bench_xapian: build %s: %s\n", path, e.get_description().c_str());
        return -1;
    }
    return 0;
}

int open_index(void *st, const char *path)
{
    xap *s = static_cast<xap *>(st);
    try {
        s->db = new Xapian::Database(path);
        s->enq = new Xapian::Enquire(*s->db);
        s->n = s->db->get_doccount();
        s->qp.set_database(*s->db);
        s->qp.set_default_op(Xapian::Query::OP_AND);
        s->qp.add_prefix("title", "S");
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "bench_xapian: open %s: %s\n", path, e.get_description().c_str());
        return -1;
    }
    return 0;
}

int query(void *st, const bench_query *q, long long *count)
{
    xap *s = static_cast<xap *>(st);
    try {
        Xapian::Query xq = s->qp.parse_query(
            std::string(q->text, q->len),
            Xapian::QueryParser::FLAG_CJK_NGRAM | Xapian::QueryParser::FLAG_PHRASE |
                Xapian::QueryParser::FLAG_DEFAULT);
        s->enq->set_query(xq);
        Xapian::MSet m = s->enq->get_mset(0, 10, s->n);
        *count = (long long)m.get_matches_estimated();
        size_t bytes = 0;
        for (Xapian::MSetIterator it = m.begin(); it != m.end(); ++it)
            bytes += it.get_document().get_data().size();
        return bytes == (size_t)-1;  // keeps the fetch from being optimized away
    } catch (const Xapian::QueryParserError &e) {
        std::fprintf(stderr, "bench_xapian: query %s: %s\n", q->text, e.get_msg().c_str());
        *count = -1;
        return 0;
    } catch (const Xapian::Error &e) {
        std::fprintf(stderr, "bench_xapian: query %s: %s\n", q->text,
                     e.get_description().c_str());
        return -1;
    }
}

void close_index(void *st)
{
    xap *s = static_cast<xap *>(st);
    delete s->enq;
    delete s->db;
}

}  // namespace

int main(int argc, char **argv)
{
    xap s;
    bench_engine e = { "xapian", &s, build, open_index, query, close_index };
    std::printf("version xapian %s\n", Xapian::version_string());
    return bench_main(argc, argv, &e);
}
